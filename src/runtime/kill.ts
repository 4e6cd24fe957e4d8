// kill: a signal to the container's init, or with --all to every process in it. Apart from
// lifecycle.ts (start, delete) so that the light bundle (state, kill, list) carries neither
// hooks, pidfds nor the cgroup manager, which only --all and a stopped container need.
import type { StateDir } from "../state/state.ts";
import { readdirSync, readlinkSync } from "../sys/fs-sync.ts";
import { LeopardError } from "../util/errors.ts";
import { parseSignal } from "./signals.ts";

/**
 * The cgroup manager's part (cgroup-ops.ts), by its .js name: the light bundle leaves that
 * out and finds it as a bundle of its own beside it; from the sources Bun resolves the .ts.
 */
const cgroupOps = (): typeof import("./cgroup-ops.ts") => require("./cgroup-ops.js");

/**
 * Every process in the container's PID namespace (init's namespace), init first. An init whose
 * namespace this caller may not read (a rootless container's init before its exec: the helper
 * made it non-dumpable, so its /proc files are root's) is there alone: signalled, it takes the
 * rest of its namespace with it.
 */
export function containerPids(pid: number): number[] {
  let ns: string;
  try {
    ns = readlinkSync(`/proc/${pid}/ns/pid`);
  } catch (e) {
    const code = (e as { code?: string }).code;
    return code === "EACCES" || code === "EPERM" ? [pid] : [];
  }
  const out = [pid];
  for (const name of readdirSync("/proc")) {
    const p = Number(name);
    if (!Number.isInteger(p) || p === pid) continue;
    try {
      if (readlinkSync(`/proc/${p}/ns/pid`) === ns) out.push(p);
    } catch {
      // the process exited while /proc was read: it is not in the container any more
    }
  }
  return out;
}

export function kill(state: StateDir, id: string, signal: string, all: boolean): void {
  const sig = parseSignal(signal);
  const s = state.read(id);
  const status = state.status(s);
  // As runc: with --all a stopped container is not an error — what may be left in its cgroup is
  // signalled (containerd's shim sends `kill --all ID 9` once init has exited, and runc answers 0);
  // without --all, or while creating, it is.
  if (status === "creating" || (status === "stopped" && !all))
    throw new LeopardError("bad-state", "container not running");
  if (status === "stopped") {
    if (s.cgroupPaths !== undefined) cgroupOps().signalCgroup(s.cgroupPaths, sig, true);
    return;
  }
  // Every process in the container's cgroup (frozen around the walk so none escapes by forking).
  if (all && s.cgroupPaths !== undefined && cgroupOps().signalCgroup(s.cgroupPaths, sig, false)) return;
  const pids = all && s.ownPidNamespace ? containerPids(s.pid) : [s.pid];
  for (const p of pids) {
    try {
      process.kill(p, sig);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
    }
  }
}
