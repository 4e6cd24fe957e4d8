// Helpers both backends share: finding and killing a cgroup's processes, checking what is set.
import { readdirSync, statSync } from "../sys/fs-sync.ts";
import { LeopardError } from "../util/errors.ts";
import { readPids, waitFor } from "./files.ts";

/** Every pid in dir and its sub-cgroups. */
export function pidsBelow(dir: string): number[] {
  const out = readPids(dir);
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names) {
    const p = `${dir}/${n}`;
    try {
      if (statSync(p).isDirectory()) out.push(...pidsBelow(p));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * SIGKILL everything in dir (and below) until it is empty. Frozen processes die once thawed,
 * so the caller freezes first (no new forks escape) and thaws before waiting.
 */
export function killAll(dir: string, thaw: () => void, timeoutMs = 5000): void {
  for (const pid of pidsBelow(dir)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  thaw();
  const gone = waitFor(() => {
    const left = pidsBelow(dir);
    for (const pid of left) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    return left.length === 0;
  }, timeoutMs);
  if (!gone)
    throw new LeopardError(
      "system",
      `processes ${pidsBelow(dir).join(", ")} in ${JSON.stringify(dir)} did not exit`,
    );
}

/** Whether any field of a resource section is set (arrays non-empty, maps with keys). */
export function anySet(o: object | undefined): boolean {
  if (o === undefined) return false;
  return Object.values(o).some((v) => {
    if (v === undefined) return false;
    if (Array.isArray(v)) return v.length > 0;
    if (typeof v === "object" && v !== null) return Object.keys(v).length > 0;
    return true;
  });
}
