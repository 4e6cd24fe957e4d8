// kill's use of the cgroup manager: a signal to every process in the container's cgroup (frozen
// around the walk). kill.ts requires it as "./cgroup-signal.js": the light bundle
// (leopard-oci-light.js) leaves it out, and it is a bundle of its own beside it (the Makefile's
// CGROUP_SIGNAL), loaded only by `kill --all` and the kill of a stopped container; run from the
// sources, Bun finds this .ts.
import type { CgroupPaths } from "../cgroups/path.ts";
import { signalAll } from "../cgroups/signal.ts";
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
