// The one interface the runtime uses for a container's cgroup (src/cgroups/manager.ts opens one).
// A leaf of types, so the backends (v1.ts, v2.ts) need not import the module that imports them.
import type { FreezerState } from "./controllers/freezer.ts";
import type { CgroupMode } from "./layout.ts";
import type { CgroupPaths } from "./path.ts";
import type { Resources } from "./resources.ts";
import type { Stats } from "./stats.ts";

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
  /**
   * What a process joins the cgroup by without a cgroup.procs write of a pid: each v1
   * hierarchy's `tasks` file (a thread writes "0" to move itself) and the cgroup2 directory (a
   * child is made in it with clone3 CLONE_INTO_CGROUP).
   */
  joinFiles(): { tasks: string[]; unified?: string | undefined };
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
