// The one interface the runtime uses for a container's cgroup, whatever the host's layout.
//
//   const cg = openCgroup(resolveCgroupsPath(spec.linux.cgroupsPath, id, hostLayout()));
//   cg.create(); cg.set(readResources(spec.linux.resources)); cg.apply(pid);
//   … cg.freeze(); cg.thaw(); cg.stats(); cg.pids(); cg.destroy();
//
// `paths` is what the container's state keeps; every later command reopens the cgroup with it.
import type { FreezerState } from "./controllers/freezer.ts";
import { type CgroupLayout, type CgroupMode, hostLayout } from "./layout.ts";
import { type CgroupPaths, hierarchyKeys, normalizeCgroupPath } from "./path.ts";
import type { Resources } from "./resources.ts";
import type { Stats } from "./stats.ts";
import { V1Manager } from "./v1.ts";
import { V2Manager } from "./v2.ts";

export type { FreezerState } from "./controllers/freezer.ts";

export interface CgroupManager {
  readonly mode: CgroupMode;
  /** Hierarchy key ("" for cgroup2, else a v1 controller) → cgroup path; keep it in state. */
  readonly paths: CgroupPaths;
  /** The cgroup's directories, one per hierarchy mount (co-mounted controllers share one). */
  dirs(): string[];
  /** Whether the cgroup exists (in its main hierarchy). */
  exists(): boolean;
  /** Makes the directories (and their parents); nothing happens to ones that exist. */
  create(): void;
  /** Moves a process (all its threads) into the cgroup, in every hierarchy. */
  apply(pid: number): void;
  /** Applies the resources; one the host lacks is an "unsupported" error naming it. */
  set(resources: Resources): void;
  /** Stops every process in the cgroup and returns once they are all stopped. */
  freeze(): void;
  thaw(): void;
  freezerState(): FreezerState;
  stats(): Stats;
  /** Every process in the cgroup and the cgroups below it. */
  pids(): number[];
  /** How many processes the OOM killer has killed in the cgroup so far. */
  oomKills(): number;
  /** Thaws, kills every process, waits for them to go and removes the directories, even when frozen. */
  destroy(): void;
}

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
