// Which cgroup hierarchies the host has, read once per command from /proc/self/mountinfo.
//
//   v1      every controller on its own (or a co-mounted) `cgroup` hierarchy
//   v2      one `cgroup2` hierarchy with every controller
//   hybrid  v1 controllers, plus a `cgroup2` mount (systemd puts it at /sys/fs/cgroup/unified)
//           that holds what no v1 hierarchy took — on this project's VM only hugetlb
//
// Everything takes a layout, so unit tests point the managers at a plain directory tree
// (`fake: true`, see ./fake.ts) instead of /sys/fs/cgroup.
import { readText } from "../sys/io.ts";
import { type MountInfo, mountInfo } from "../sys/proc.ts";
import { LeopardError } from "../util/errors.ts";

export type CgroupMode = "v1" | "v2" | "hybrid";

export interface CgroupLayout {
  readonly mode: CgroupMode;
  /** v1 hierarchy by controller ("cpu", "cpuacct", "name=systemd", …) → its mount directory. */
  readonly v1: ReadonlyMap<string, string>;
  /** The cgroup2 mount directory, if any. */
  readonly unified: string | undefined;
  /** Controllers the cgroup2 root offers (its cgroup.controllers). */
  readonly unifiedControllers: readonly string[];
  /** A directory tree standing in for cgroupfs: new cgroups get their parent's files. */
  readonly fake: boolean;
}

/** v1 controllers leopard places containers in (and named hierarchies, "name=…"). */
export const V1_CONTROLLERS = [
  "cpu",
  "cpuacct",
  "cpuset",
  "memory",
  "pids",
  "blkio",
  "hugetlb",
  "net_cls",
  "net_prio",
  "rdma",
  "devices",
  "freezer",
  "perf_event",
  "misc",
] as const;

/** The layout described by a mount table; readControllers reads a cgroup2 root's cgroup.controllers. */
export function layoutFromMounts(
  mounts: readonly MountInfo[],
  readControllers: (dir: string) => string = (d) => readText(`${d}/cgroup.controllers`),
): CgroupLayout {
  const v1 = new Map<string, string>();
  let unified: string | undefined;
  for (const m of mounts) {
    if (m.fstype === "cgroup2") {
      unified ??= m.mountPoint;
    } else if (m.fstype === "cgroup") {
      for (const o of m.superOptions.split(",")) {
        const known = (V1_CONTROLLERS as readonly string[]).includes(o) || o.startsWith("name=");
        if (known && !v1.has(o)) v1.set(o, m.mountPoint);
      }
    }
  }
  const hasV1Controller = [...v1.keys()].some((k) => !k.startsWith("name="));
  let unifiedControllers: string[] = [];
  if (unified !== undefined) {
    try {
      unifiedControllers = readControllers(unified).trim().split(/\s+/).filter(Boolean);
    } catch {
      unifiedControllers = [];
    }
  }
  const mode: CgroupMode =
    !hasV1Controller && unified !== undefined ? "v2" : unified !== undefined ? "hybrid" : "v1";
  if (!hasV1Controller && unified === undefined) {
    throw new LeopardError(
      "unsupported",
      "no cgroup hierarchy is mounted (neither cgroup nor cgroup2 in /proc/self/mountinfo)",
    );
  }
  return { mode, v1, unified, unifiedControllers, fake: false };
}

let cached: CgroupLayout | undefined;

/** This host's layout, detected on first use and kept for the rest of the command. */
export function hostLayout(): CgroupLayout {
  cached ??= layoutFromMounts(mountInfo("self"));
  return cached;
}

/** A process's cgroup per hierarchy, from /proc/<pid>/cgroup: controller → path, "" for cgroup2. */
export function parseProcCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (m === null) continue;
    const [, , ctls = "", path = ""] = m;
    if (ctls === "") out.set("", path);
    for (const c of ctls.split(",")) if (c !== "") out.set(c, path);
  }
  return out;
}

export function procCgroup(pid: number | "self" = "self"): Map<string, string> {
  return parseProcCgroup(readText(`/proc/${pid}/cgroup`));
}
