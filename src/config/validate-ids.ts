// uid/gid mappings, for a user namespace (linux.uidMappings) or an id-mapped mount.
// The kernel's rules for /proc/<pid>/uid_map are checked here so the error names the field:
// at most 340 lines, no line of size 0, no range past 2^32, and no two ranges overlapping on
// either side.
import { fail, integer, list, nth, object, req, uint32 } from "./read.ts";
import type { IdMapping } from "./types.ts";

/** The kernel's limit on uid_map/gid_map lines (since Linux 4.15). */
const MAX_LINES = 340;
const RANGE = 2 ** 32;

export function readIdMappings(v: unknown, field: string): IdMapping[] {
  const maps = list(v, field, readIdMapping);
  if (maps.length > MAX_LINES)
    fail(field, `has ${maps.length} entries (the kernel takes at most ${MAX_LINES})`);
  for (let i = 0; i < maps.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = maps[j]!;
      const b = maps[i]!;
      if (overlaps(a.containerID, a.size, b.containerID, b.size)) {
        fail(nth(field, i), `overlaps ${nth(field, j)} in container ids`);
      }
      if (overlaps(a.hostID, a.size, b.hostID, b.size))
        fail(nth(field, i), `overlaps ${nth(field, j)} in host ids`);
    }
  }
  return maps;
}

function readIdMapping(v: unknown, field: string): IdMapping {
  const o = object(v, field);
  const containerID = req(o, "containerID", field, uint32);
  const hostID = req(o, "hostID", field, uint32);
  const size = req(o, "size", field, (e, f) => integer(e, f, 1, 0xffff_ffff));
  if (containerID + size > RANGE || hostID + size > RANGE)
    fail(field, `runs past the last id (${RANGE - 1})`);
  return { containerID, hostID, size };
}

function overlaps(a: number, asize: number, b: number, bsize: number): boolean {
  return a < b + bsize && b < a + asize;
}

/** Whether `containerId` is inside one of the mappings. */
export function isMapped(maps: readonly IdMapping[], containerId: number): boolean {
  return maps.some((m) => containerId >= m.containerID && containerId < m.containerID + m.size);
}
