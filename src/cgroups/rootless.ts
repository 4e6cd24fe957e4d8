// Where a rootless container's cgroup goes, by runc's rules (libcontainer/cgroups/fs, Rootless):
// - with no linux.cgroupsPath the container's cgroup is made under the runtime's own (on a
//   cgroup-v2-only host, beside it: under its parent, src/cgroups/path.ts; in a systemd user
//   session that is the user's delegated app.slice) in each hierarchy the user may write; the
//   others are left out, silently;
// - a limit asked for in a hierarchy that was left out is an error ("cannot set memory limit:
//   container could not join or create cgroup"), naming the resource;
// - an explicit cgroupsPath is used as given: making it fails as it would for runc.
import { LeopardError } from "../util/errors.ts";
import type { CgroupLayout } from "./layout.ts";
import type { CgroupPaths } from "./path.ts";
import type { Resources } from "./resources.ts";

/** The resources asked for (devices aside: runc ignores those rootless), each with its v1 controller. */
export function requestedLimits(r: Resources): { field: string; controller: string }[] {
  const out: { field: string; controller: string }[] = [];
  if (r.memory !== undefined) out.push({ field: "memory", controller: "memory" });
  if (r.cpu !== undefined) out.push({ field: "cpu", controller: "cpu" });
  if (r.pids !== undefined) out.push({ field: "pids", controller: "pids" });
  if (r.blockIO !== undefined) out.push({ field: "blockIO", controller: "blkio" });
  if (r.hugepageLimits.length > 0) out.push({ field: "hugepageLimits", controller: "hugetlb" });
  if (r.network !== undefined) out.push({ field: "network", controller: "net_cls" });
  if (Object.keys(r.rdma).length > 0) out.push({ field: "rdma", controller: "rdma" });
  if (Object.keys(r.unified).length > 0) out.push({ field: "unified", controller: "" });
  return out;
}

/** The directory of a hierarchy key ("" for cgroup2, else a v1 controller). */
export function hierarchyDir(layout: CgroupLayout, key: string, path: string): string | undefined {
  const mount = key === "" ? layout.unified : layout.v1.get(key);
  return mount === undefined ? undefined : `${mount}${path}`;
}

export function rootlessCgroupPaths(
  paths: CgroupPaths,
  opts: {
    /** linux.cgroupsPath (or LEOPARD_CGROUP_PARENT) was given. */
    explicit: boolean;
    /** Whether this user can make the cgroup at `path` in hierarchy `key`. */
    writable: (key: string, path: string) => boolean;
    limits: readonly { field: string; controller: string }[];
    mode: CgroupLayout["mode"];
  },
): CgroupPaths {
  if (opts.explicit) return paths;
  // cgroup v2 without a limit asked for: no cgroup at all (runc's fs2 Apply returns early), so a
  // writable session cgroup that holds processes is never given a child it cannot delegate to.
  const wanted = Object.entries(paths).filter(([k]) => k !== "" || opts.limits.length > 0);
  const kept = Object.fromEntries(wanted.filter(([k, p]) => opts.writable(k, p)));
  for (const l of opts.limits) {
    const key = opts.mode === "v2" ? "" : l.controller;
    if (paths[key] !== undefined && kept[key] === undefined)
      throw new LeopardError(
        "unsupported",
        `cannot set linux.resources.${l.field}: a rootless container could not make its cgroup (no cgroup this user may write${opts.mode === "v2" ? "; a systemd user session delegates one" : " on cgroup v1"})`,
      );
  }
  return kept;
}
