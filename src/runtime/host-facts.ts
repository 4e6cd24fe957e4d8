// The facts about the host the planner needs (src/plan is pure: it asks through HostFacts).

import { RLIMITS } from "../config/rlimits.ts";
import type { Spec } from "../config/types.ts";
import type { HostFacts } from "../plan/plan.ts";
import type { RootlessHost } from "../plan/rootless.ts";
import { readdirSync, readFileSync, realpathSync, statSync } from "../sys/fs-sync.ts";
import { capLastCap, cgroupHierarchies, type MountInfo, mountInfo, mountOf } from "../sys/proc.ts";
import { getRlimit } from "../sys/rlimit.ts";

export function hostFacts(spec: Spec, rootfs: string, rootless = false): HostFacts {
  const mounts = mountInfo();
  return {
    ...(rootless ? { rootless: rootlessHost() } : {}),
    capLast: capLastCap(),
    cgroupMounts: cgroupHierarchies(mounts),
    rootfsParent: rootfsParent(joinedMountTable(spec) ?? mounts, rootfs),
    sourceIsDir: (p) => {
      try {
        return statSync(p).isDirectory();
      } catch {
        // A source that cannot be looked at is taken as a directory, as runc does; the mount reports it.
        return true;
      }
    },
    dirIsEmpty: (p) => {
      try {
        return readdirSync(p).length === 0;
      } catch (e) {
        return (e as NodeJS.ErrnoException).code === "ENOENT";
      }
    },
    hostHas: (p) => {
      try {
        statSync(p);
        return true;
      } catch {
        // Any failure to stat means the device cannot be bound from the host.
        return false;
      }
    },
  };
}

/** The host mount the root filesystem lies on (symlinks resolved, as runc does), for the planner. */
function rootfsParent(
  mounts: readonly MountInfo[],
  rootfs: string,
): { path: string; shared: boolean } | undefined {
  let real = rootfs;
  try {
    real = realpathSync(rootfs);
  } catch {
    // checkRootfs saw it a moment ago; unresolvable now, the path as given is the best guess.
  }
  const m = mountOf(mounts, real);
  return m && { path: m.mountPoint, shared: m.optional.split(" ").some((f) => f.startsWith("shared:")) };
}

/**
 * The mount table of a mount namespace the container joins, when its path names a process's
 * (/proc/PID/ns/mnt): the rootfs's parent mount is looked up there. Another path (a bind-mounted
 * namespace file) gives no table: the planner then makes no mount private, as it cannot tell.
 */
function joinedMountTable(spec: Spec): readonly MountInfo[] | undefined {
  const path = spec.linux.namespaces.find((n) => n.type === "mount")?.path;
  if (path === undefined) return undefined;
  const pid = /^\/proc\/(\d+)\/ns\/mnt$/.exec(path)?.[1];
  if (pid === undefined) return [];
  try {
    return mountInfo(Number(pid));
  } catch {
    // The process is gone: the setns will fail with a clear error; no table meanwhile.
    return [];
  }
}

/** The caller's limits a rootless container cannot go beyond (src/plan/rootless.ts). */
function rootlessHost(): RootlessHost {
  let oomScoreAdj = 0;
  try {
    oomScoreAdj = Number(readFileSync("/proc/self/oom_score_adj", "utf8").trim()) || 0;
  } catch {
    // No /proc: 0, the default score; a lower request then fails in the helper's own write.
  }
  const hardLimits: Record<string, bigint> = {};
  for (const [name, n] of Object.entries(RLIMITS)) hardLimits[name] = getRlimit(n).hard;
  return { euid: process.geteuid?.() ?? 0, egid: process.getegid?.() ?? 0, oomScoreAdj, hardLimits };
}
