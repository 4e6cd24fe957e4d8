// Named volumes: directories under <storage>/volumes/<name>/_data, recorded in the engine's
// database. A new volume mounted over a directory the image fills gets that content first, as
// docker does; anonymous volumes (from `-v /path` or the image's Volumes) carry a label so
// `rm -v` and `volume prune` know them.
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { applySnapshot } from "../image/flatten.ts";
import { lookupLayered } from "../image/layered.ts";
import { spawnTool } from "../sys/host-tool.ts";
import { O_DIRECTORY, O_PATH, openInRoot } from "../sys/openat2.ts";
import { closeFd } from "../sys/seqpacket.ts";
import { describe, LeopardError } from "../util/errors.ts";
import { posix } from "../util/path.ts";
import type { EngineDb, VolumeRecord } from "./db.ts";
import { type EngineDirs, volumeDir } from "./dirs.ts";
import type { RootView } from "./exe.ts";
import { NAME, newId } from "./names.ts";

export const ANONYMOUS = "org.leopard.anonymous";

export function volumePath(d: EngineDirs, name: string): string {
  return `${volumeDir(d, name)}/_data`;
}

export function createVolume(
  db: EngineDb,
  d: EngineDirs,
  name: string,
  labels: Record<string, string> = {},
): VolumeRecord {
  if (!NAME.test(name)) throw new LeopardError("invalid-argument", `volume name "${name}" is not valid`);
  const rec = { name, created: new Date().toISOString(), labels };
  mkdirSync(volumePath(d, name), { recursive: true, mode: 0o755 });
  if (!db.addVolume(rec)) return db.volume(name) ?? rec;
  return rec;
}

export function anonymousVolume(db: EngineDb, d: EngineDirs): VolumeRecord {
  return createVolume(db, d, newId(), { [ANONYMOUS]: "true" });
}

/**
 * Fills an empty volume from the image's directory at the mount point (copy with owners and
 * modes). The directory is opened inside the root (RESOLVE_IN_ROOT) and handed to cp(1) as
 * /proc/self/fd/3, so an image's symlink cannot make it copy a host directory.
 */
export async function copyUp(rootfs: RootView, destination: string, volume: string): Promise<void> {
  if (readdirSync(volume).length > 0) return;
  if (typeof rootfs !== "string") {
    // Layers (a rootless overlay the runtime mounts): the directory's layers applied bottom-up,
    // whiteouts and opaque directories as overlay reads them (image/flatten.ts).
    const e = lookupLayered(rootfs.layers, destination);
    if (e === undefined || !e.st.isDirectory()) return; // nothing in the image there
    try {
      for (const d of [...e.dirs].reverse())
        applySnapshot(d, volume, { rootless: true, overlayXattr: "user" });
    } catch (err) {
      throw new LeopardError("system", `copying ${destination} into a volume failed: ${describe(err)}`);
    }
    return;
  }
  let fd: number;
  try {
    fd = openInRoot(rootfs, destination, O_PATH | O_DIRECTORY);
  } catch {
    return; // nothing in the image there
  }
  try {
    const p = spawnTool(["cp", "-a", "--", "/proc/self/fd/3/.", volume], {
      stdio: ["ignore", "ignore", "pipe", fd],
    });
    const err = await new Response(p.stderr).text();
    if ((await p.exited) !== 0)
      throw new LeopardError("system", `copying ${destination} into a volume failed: ${err.trim()}`);
  } finally {
    closeFd(fd);
  }
}

export function removeVolume(db: EngineDb, d: EngineDirs, name: string, inUseBy: string | undefined): void {
  if (!db.volume(name)) throw new LeopardError("not-found", `no such volume: ${name}`);
  if (inUseBy !== undefined)
    throw new LeopardError("bad-state", `volume "${name}" is in use by container ${inUseBy.slice(0, 12)}`);
  rmSync(volumeDir(d, name), { recursive: true, force: true });
  db.removeVolume(name);
}

/**
 * The kernel filesystem a volume destination lies in ("/proc", "/sys" or "/dev", or beneath one),
 * or undefined. An image's VOLUME there would hide the runtime's own mount.
 */
export function systemVolume(destination: string): string | undefined {
  const d = posix.normalize(`/${destination}`).replace(/(.)\/+$/, "$1");
  return ["/proc", "/sys", "/dev"].find((top) => d === top || d.startsWith(`${top}/`));
}
