// start and delete, and (from kill.ts and query.ts, where they live) kill, state and list: the
// commands that act on an existing container. These run as one short process per call (the
// engine's hot path): node:fs, hooks and sd_notify are loaded only when a container needs them
// (see src/sys/io.ts for why).

import type { SpecHook } from "../config/types.ts";
import type { HookState } from "../hooks/hooks.ts";
import { isAlive, type StateDir, type StoredState } from "../state/state.ts";
import { close, O_NONBLOCK, O_RDONLY, open, read, readText, rmdir, unlink } from "../sys/io.ts";
import { pidfdClose, pidfdOpen, pidfdWait } from "../sys/pidfd.ts";
import { waitReadable } from "../sys/seqpacket.ts";
import { LeopardError } from "../util/errors.ts";
import { containerPids } from "./kill.ts";

export { containerPids, kill } from "./kill.ts";
export { list, stateOf } from "./query.ts";

const notifyModule = (): typeof import("./notify.ts") => require("./notify.ts");
/**
 * The cgroup manager's part of delete (cgroup-ops.ts), by its .js name: the lifecycle bundle
 * leaves it out and finds it beside it, so that start and a stopped container's delete load none
 * of the manager; from the sources Bun resolves the .ts.
 */
const cgroupOps = (): typeof import("./cgroup-ops.ts") => require("./cgroup-ops.js");
const runHooks: typeof import("../hooks/hooks.ts").runHooks = (...a) =>
  (require("../hooks/hooks.ts") as typeof import("../hooks/hooks.ts")).runHooks(...a);

export function start(state: StateDir, id: string): void {
  const s = state.read(id);
  const status = state.status(s);
  if (status !== "created") {
    throw new LeopardError("bad-state", `cannot start a container that is ${status}`);
  }
  // sd_notify: listening before the process runs, so its READY=1 cannot be lost.
  const notify = process.env["NOTIFY_SOCKET"] ? notifyModule().listenForNotify(state, id) : undefined;
  const fifo = state.fifo(id);
  // Opening the read side releases init's blocked open for writing; it then writes one byte.
  const fd = open(fifo, O_RDONLY | O_NONBLOCK);
  try {
    if (!waitReadable(fd, 10_000))
      throw new LeopardError("bad-state", "the container did not answer the start signal");
    const n = read(fd, new Uint8Array(1), fifo);
    if (n !== 1) throw new LeopardError("bad-state", "the container exited before it could start");
  } finally {
    close(fd);
    try {
      unlink(fifo);
    } catch {
      // the FIFO is gone already (a concurrent start or delete removed it)
    }
  }
  // poststart: after the process started; a failure is a warning, the container runs on.
  const hooks = storedHooks(state, id);
  if (hooks) runHooks("poststart", hooks.poststart, hookState(s, "running", s.pid));
  if (notify !== undefined) notifyModule().relayReady(notify, s);
}

/** poststart and poststop hooks, kept by create (absent when the config has none). */
function storedHooks(
  state: StateDir,
  id: string,
): { poststart: SpecHook[]; poststop: SpecHook[] } | undefined {
  try {
    return JSON.parse(readText(`${state.dir(id)}/hooks.json`));
  } catch {
    return undefined;
  }
}

function hookState(s: StoredState, status: HookState["status"], pid: number): HookState {
  return { ociVersion: s.ociVersion, id: s.id, status, pid, bundle: s.bundle, annotations: s.annotations };
}

/** Waits for the process to exit (a pidfd where the kernel has them, else polling /proc). */
export async function waitGone(pid: number, startTime: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const fd = pidfdOpen(pid);
  try {
    // isAlive first: the pid may have been reused before the pidfd was opened.
    while (isAlive(pid, startTime)) {
      const left = deadline - Date.now();
      if (left < 0) return false;
      // In short slices, so an engine calling in-process keeps its event loop turning.
      const r = fd === undefined ? "error" : pidfdWait(fd, Math.min(left, 100));
      await Bun.sleep(r === "error" ? 5 : 0);
    }
    return true;
  } finally {
    if (fd !== undefined) pidfdClose(fd);
  }
}

/**
 * A stopped container's cgroups are normally empty: rmdir each one, without loading the cgroup
 * manager (~30 modules, ~50 ms). False when one refuses (processes or child cgroups left): the
 * manager then thaws, kills and removes what is left.
 */
function removeEmptyCgroups(paths: Readonly<Record<string, string>>): boolean {
  const { hostLayout } = require("../cgroups/layout.ts") as typeof import("../cgroups/layout.ts");
  const layout = hostLayout();
  for (const [key, path] of Object.entries(paths)) {
    const mount = key === "" ? layout.unified : layout.v1.get(key);
    if (mount === undefined) return false;
    try {
      rmdir(`${mount}${path}`);
    } catch (e) {
      if ((e as { code?: string }).code !== "ENOENT") return false; // gone already (a shared mount)
    }
  }
  return true;
}

/**
 * A container being created, or whose create was killed (pid 0): its helper, which is in the
 * cgroup only from sync 2 on. Killed and waited for, so it forks nothing into the cgroup.
 */
async function stopHelper(s: StoredState): Promise<void> {
  const { helperPid: pid, helperStartTime: startTime } = s;
  if (pid === undefined || startTime === undefined || !isAlive(pid, startTime)) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // the helper exited between the check and the kill: nothing to stop
  }
  if (!(await waitGone(pid, startTime, 10_000)))
    throw new LeopardError(
      "bad-state",
      `the helper of container "${s.id}" (pid ${pid}) did not stop after SIGKILL`,
    );
}

/**
 * Removes the container: its processes, cgroups, scope and state. A container whose create was
 * killed (stopped, pid 0) goes the same way, from what its first record names (state.ts).
 */
export async function remove(state: StateDir, id: string, force: boolean): Promise<void> {
  let s: ReturnType<StateDir["read"]>;
  try {
    s = state.read(id);
  } catch (e) {
    // Nothing by that name: done, with --force (as runc).
    if (force && e instanceof LeopardError && e.code === "not-found") return;
    throw e;
  }
  const status = state.status(s);
  if ((status === "running" || status === "paused") && !force) {
    throw new LeopardError("bad-state", `cannot delete container "${id}" that is not stopped: ${status}`);
  }
  if (status === "creating" && !force)
    throw new LeopardError("bad-state", `container "${id}" is being created`);
  if (s.pid === 0) await stopHelper(s);
  if (s.cgroupPaths !== undefined && !(status === "stopped" && removeEmptyCgroups(s.cgroupPaths))) {
    // Thaws, kills every process in the cgroup, waits for them and removes it (even when frozen).
    cgroupOps().destroyCgroup(s.cgroupPaths);
  }
  if (s.systemdScope !== undefined) {
    // Empty by now, so systemd may have collected it already (stopScope accepts that).
    cgroupOps().stopSystemdScope(s.systemdScope, s.systemdBus ?? "system");
  }
  if (status !== "stopped" && s.pid !== 0) {
    const pids = s.ownPidNamespace ? containerPids(s.pid) : [s.pid];
    for (const p of pids) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        // already gone
      }
    }
    if (!(await waitGone(s.pid, s.pidStartTime, 10_000))) {
      throw new LeopardError("bad-state", `container "${id}" did not stop after SIGKILL`);
    }
  }
  // poststop: the container is gone; failures are warnings and the state is removed anyway.
  const hooks = storedHooks(state, id);
  if (hooks) runHooks("poststop", hooks.poststop, hookState(s, "stopped", s.pid));
  state.remove(id);
}
