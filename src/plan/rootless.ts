// What a rootless runtime cannot do, decided before anything exists. Rootless (src/state/rootless.ts)
// is a user calling leopard-oci (effective uid not 0) or uid 0 in a user namespace the host's root
// did not make (rootless podman): either way the container's namespaces are owned by a user
// namespace without the host's privileges. runc's rules, each refused in one line naming the field:
// - an effective uid other than 0 needs a user namespace in the config ("rootless container
//   requires user namespaces") and cannot set supplementary groups with a map of its own gid
//   alone (setgroups is denied there; newgidmap's maps allow it);
// - oom_score_adj can only be raised (lowering needs CAP_SYS_RESOURCE in the host's namespace);
// - an rlimit's hard value cannot exceed the caller's (the same capability);
// - only the filesystems the kernel marks FS_USERNS_MOUNT can be mounted, besides bind mounts.
import { LeopardError } from "../util/errors.ts";
import { parseMountOptions } from "./mount-options.ts";
import type { PlanSpec } from "./types.ts";

/** The facts about a rootless caller the planner needs (HostFacts.rootless). */
export interface RootlessHost {
  /** The runtime's effective uid and gid: not 0 for a user calling leopard-oci directly. */
  euid: number;
  egid: number;
  /** The caller's /proc/self/oom_score_adj. */
  oomScoreAdj: number;
  /** The caller's hard limit for each RLIMIT_* name (RLIM_INFINITY as 2^64-1). */
  hardLimits: Readonly<Record<string, bigint>>;
}

/** Filesystems an unprivileged user namespace may mount (FS_USERNS_MOUNT in the kernel). */
const USERNS_MOUNTABLE = new Set([
  "proc",
  "sysfs",
  "tmpfs",
  "ramfs",
  "devpts",
  "mqueue",
  "cgroup",
  "cgroup2",
  "overlay",
  "fuse",
  "binfmt_misc",
]);

/**
 * The gid map is the caller's own gid alone: the runtime writes it itself, which the kernel
 * allows only after setgroups is denied in the namespace (src/runtime/idmap-write.ts).
 */
export function ownGidOnly(spec: PlanSpec, host: RootlessHost): boolean {
  const maps = spec.linux?.gidMappings ?? [];
  return maps.length === 1 && maps[0]?.size === 1 && maps[0].hostID === host.egid;
}

/**
 * Throws the first thing of the config a rootless runtime cannot do. `userns`: the config creates
 * or joins a user namespace.
 */
export function checkRootless(spec: PlanSpec, host: RootlessHost, userns: boolean): void {
  const proc = spec.process;
  if (host.euid !== 0) {
    if (!userns)
      throw new LeopardError(
        "invalid-spec",
        'a rootless container needs a user namespace: linux.namespaces has no "user" (`leopard-oci spec --rootless` writes one)',
      );
    if ((proc.user.additionalGids ?? []).length > 0 && ownGidOnly(spec, host))
      throw new LeopardError(
        "invalid-spec",
        "process.user.additionalGids: a rootless container whose gid map is the user's own gid alone cannot set supplementary groups (map subordinate gids, written by newgidmap)",
      );
  }
  const oom = proc.oomScoreAdj;
  if (oom !== undefined && oom < host.oomScoreAdj)
    throw new LeopardError(
      "invalid-spec",
      `process.oomScoreAdj ${oom} is below the caller's ${host.oomScoreAdj}: a rootless container can only raise it`,
    );
  for (const r of proc.rlimits ?? []) {
    const cap = host.hardLimits[r.type];
    if (cap !== undefined && BigInt(r.hard) > cap)
      throw new LeopardError(
        "invalid-spec",
        `process.rlimits ${r.type} hard ${r.hard} is above the caller's ${cap}: a rootless container cannot raise a hard limit`,
      );
  }
  for (const m of spec.mounts ?? []) {
    const type = m.type ?? "";
    const opts = parseMountOptions(m.options ?? []);
    if (opts.bind || type === "bind") continue;
    const base = type.startsWith("fuse.") ? "fuse" : type;
    if (!USERNS_MOUNTABLE.has(base))
      throw new LeopardError(
        "invalid-spec",
        `mount "${m.destination}" of type ${JSON.stringify(type)}: a rootless container can only mount ${[...USERNS_MOUNTABLE].join(", ")} or bind mounts`,
      );
  }
}
