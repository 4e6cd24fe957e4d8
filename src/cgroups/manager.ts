// The one interface the runtime uses for a container's cgroup, whatever the host's layout.
//
//   const cg = openCgroup(resolveCgroupsPath(spec.linux.cgroupsPath, id, hostLayout()));
//   cg.create(); cg.set(readResources(spec.linux.resources)); cg.apply(pid);
//   … cg.freeze(); cg.thaw(); cg.stats(); cg.pids(); cg.destroy();
//
// `paths` is what the container's state keeps; every later command reopens the cgroup with it.
import type { CgroupManager } from "./cgroup-manager.ts";
import { type CgroupLayout, hostLayout } from "./layout.ts";
import { type CgroupPaths, hierarchyKeys, normalizeCgroupPath } from "./path.ts";
import { V1Manager } from "./v1.ts";
import { V2Manager } from "./v2.ts";

export type { CgroupManager } from "./cgroup-manager.ts";
export type { FreezerState } from "./controllers/freezer.ts";

export interface OpenOptions {
  /** Defaults to the host's layout, detected once per command. */
  readonly layout?: CgroupLayout;
  /** v2 device filter attachment; tests of fake trees record it instead. */
  readonly attachDevices?: (dir: string, program: Uint8Array) => void;
}

/** The manager for a cgroup; a single path string means the same path in every hierarchy. */
export function openCgroup(paths: CgroupPaths | string, opts: OpenOptions = {}): CgroupManager {
  const layout = opts.layout ?? hostLayout();
  let p: CgroupPaths;
  if (typeof paths === "string") {
    const abs = normalizeCgroupPath(paths);
    p = Object.fromEntries(hierarchyKeys(layout).map((k) => [k, abs]));
  } else {
    p = paths;
  }
  return layout.mode === "v2"
    ? new V2Manager(layout, p, opts.attachDevices)
    : new V1Manager(layout, p, opts.attachDevices);
}
