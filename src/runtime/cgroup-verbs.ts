// The commands that act on a container's cgroup: pause, resume, update, ps, events, and the
// "paused" status. Kept apart from lifecycle.ts so start/state/kill do not load src/cgroups.
import { readFileSync } from "node:fs";
import {
  type CgroupManager,
  containerDeviceRules,
  eventLine,
  readResourcesJson,
  resourcesFromFlags,
  type UpdateFlags,
  watchOom,
} from "../cgroups/index.ts";
import type { StateDir, Status, StoredState } from "../state/state.ts";
import { LeopardError } from "../util/errors.ts";
import { reopenCgroup } from "./cgroup.ts";

function cgroupOf(s: StoredState): CgroupManager {
  const cg = reopenCgroup(s.cgroupPaths);
  if (!cg) throw new LeopardError("unsupported", `container "${s.id}" has no cgroup`);
  return cg;
}

/** The status with the freezer taken into account: a running container whose cgroup is frozen is paused. */
export function statusWithFreezer(state: StateDir, s: StoredState): Status {
  const status = state.status(s);
  if (status !== "running" || s.cgroupPaths === undefined) return status;
  return cgroupOf(s).freezerState() === "frozen" ? "paused" : "running";
}

export function pause(state: StateDir, id: string): void {
  const s = state.read(id);
  const status = statusWithFreezer(state, s);
  if (status !== "running") throw new LeopardError("bad-state", `cannot pause a container that is ${status}`);
  cgroupOf(s).freeze();
}

export function resume(state: StateDir, id: string): void {
  const s = state.read(id);
  const status = statusWithFreezer(state, s);
  if (status !== "paused") throw new LeopardError("bad-state", `cannot resume a container that is ${status}`);
  cgroupOf(s).thaw();
}

/** The pids in the container's cgroup. */
export function pids(state: StateDir, id: string): number[] {
  const s = state.read(id);
  if (statusWithFreezer(state, s) === "stopped") throw new LeopardError("bad-state", "container not running");
  return cgroupOf(s).pids();
}

/** `update --resources FILE|-` and/or flags: new limits for a created, running or paused container. */
export function update(state: StateDir, id: string, file: string | undefined, flags: UpdateFlags): void {
  const s = state.read(id);
  const status = statusWithFreezer(state, s);
  if (status === "stopped" || status === "creating")
    throw new LeopardError("bad-state", `cannot update a container that is ${status}`);
  let r =
    file === undefined
      ? resourcesFromFlags(flags)
      : readResourcesJson(JSON.parse(readFileSync(file === "-" ? 0 : file, "utf8")));
  if (r.devices.length > 0) {
    // The rules given, then the default devices, as at create.
    r = { ...r, devices: containerDeviceRules(r.devices) };
  }
  const cg = cgroupOf(s);
  cg.set(r);
  if (s.systemdScope !== undefined) {
    const { busctlOn, scopeProperties, setScopeProperties } =
      require("../cgroups/systemd.ts") as typeof import("../cgroups/systemd.ts");
    setScopeProperties(
      s.systemdScope,
      scopeProperties(r, cg.mode === "v2"),
      busctlOn(s.systemdBus ?? "system"),
    );
  }
}

/** `events --stats`: one stats line. `events`: stats every interval and OOM events until the container is gone. */
export async function events(
  state: StateDir,
  id: string,
  stats: boolean,
  intervalMs: number,
  out: (line: string) => void,
): Promise<void> {
  const s = state.read(id);
  if (statusWithFreezer(state, s) === "stopped") throw new LeopardError("bad-state", "container not running");
  const cg = cgroupOf(s);
  if (stats) {
    out(eventLine("stats", id, cg.stats()));
    return;
  }
  await new Promise<void>((resolveDone) => {
    const watch = watchOom(cg, () => out(eventLine("oom", id)), {
      intervalMs: Math.min(intervalMs, 500),
      onGone: () => {
        clearInterval(timer);
        resolveDone();
      },
    });
    const timer = setInterval(() => {
      if (!cg.exists()) {
        clearInterval(timer);
        watch.stop();
        resolveDone();
        return;
      }
      out(eventLine("stats", id, cg.stats()));
    }, intervalMs);
  });
}
