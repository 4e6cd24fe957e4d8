// The planner's two plain shapes that its parts share: one step of a plan, and the facts about the
// host the planner is given. A leaf, so the parts (credentials, mounts, /proc writes) need not
// import plan.ts, which imports them.
import type { Op } from "../protocol/ops.ts";
import type { RootlessHost } from "./rootless.ts";

export interface Step {
  op: Op;
  /** The shell command (or a sentence) that does the same thing by hand. */
  explain: string;
}

export interface HostFacts {
  /** /proc/sys/kernel/cap_last_cap */
  capLast: number;
  /** The cgroup hierarchies mounted on the host, for a `cgroup` mount in the spec. */
  cgroupMounts: readonly { name: string; fstype: "cgroup" | "cgroup2"; options: string }[];
  /** For each bind mount source: whether it is a directory (the target is created to match). */
  sourceIsDir: (source: string) => boolean;
  /** Whether a device path exists on the host (bind-mounted into a user namespace). */
  hostHas: (path: string) => boolean;
  /** Whether a host directory is empty or missing (a tmpcopyup tmpfs then needs no copy). */
  dirIsEmpty?: (path: string) => boolean;
  /** The host mount the root filesystem lies on, and whether it is shared (mountinfo "shared:N"). */
  rootfsParent?: { path: string; shared: boolean } | undefined;
  /**
   * Set when the runtime is rootless (src/state/rootless.ts): no mknod, no setgroups for a user,
   * and what an unprivileged user namespace refuses is refused up front (src/plan/rootless.ts).
   */
  rootless?: RootlessHost | undefined;
}
