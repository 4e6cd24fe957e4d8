// The cgroup manager's part of kill and delete: a signal to every process in the container's
// cgroup (frozen around the walk), the removal of a cgroup that still has processes, and the stop
// of a systemd scope. kill.ts and lifecycle.ts require it as "./cgroup-ops.js": the light bundle
// (state, kill, list) and the lifecycle bundle (start, delete) leave it out, and it is a bundle of
// its own beside them (the Makefile's CGROUP_OPS), loaded only by `kill --all`, the kill of a
// stopped container, and a delete that finds processes left or a scope: a plain `start` or the
// `delete` of a stopped container (its cgroups removed with rmdir) loads none of it. Run from the
// sources, Bun finds this .ts.
import type { CgroupPaths } from "../cgroups/path.ts";
import { signalAll } from "../cgroups/signal.ts";
import { busctlOn, stopScope } from "../cgroups/systemd.ts";
import { reopenCgroup } from "./cgroup.ts";

/**
 * Signals every process in the cgroup at these paths. False, with nothing signalled, when there
 * is none to reopen, or (ifExists) when it is gone.
 */
export function signalCgroup(
  paths: CgroupPaths | undefined,
  sig: NodeJS.Signals | number,
  ifExists: boolean,
): boolean {
  const cg = reopenCgroup(paths);
  if (!cg || (ifExists && !cg.exists())) return false;
  signalAll(cg, sig);
  return true;
}

/** Thaws the cgroup, kills every process in it, waits for them and removes it (even when frozen). */
export function destroyCgroup(paths: CgroupPaths): void {
  reopenCgroup(paths)?.destroy();
}

/** Stops the container's systemd scope through the bus it was made on (gone already is fine). */
export function stopSystemdScope(scope: string, bus: "system" | "user"): void {
  stopScope(scope, busctlOn(bus));
}
