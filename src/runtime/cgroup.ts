// The container's cgroup as the runtime uses it: made and limited at create, joined by the
// helper at sync 2 (before its namespaces, so the cgroup namespace is rooted there), reopened
// from the paths kept in state.json by every later command.

import {
  type CgroupManager,
  type CgroupPaths,
  containerDeviceRules,
  hostLayout,
  openCgroup,
  readResources,
  resolveCgroupsPath,
} from "../cgroups/index.ts";
import { hierarchyDir, requestedLimits, rootlessCgroupPaths } from "../cgroups/rootless.ts";
import {
  busctlOn,
  parseSystemdPath,
  type SystemdScope,
  scopeProperties,
  startScope,
  stopScope,
  userManagerCgroup,
} from "../cgroups/systemd.ts";
import type { Spec } from "../config/types.ts";
import { accessSync, constants, existsSync } from "../sys/fs-sync.ts";
import { readText } from "../sys/io.ts";
import { dirname } from "../util/path.ts";

/**
 * Where a container goes when config.json names no cgroupsPath: /leopard/<id>, or
 * $LEOPARD_CGROUP_PARENT/<id> (tests keep theirs under /leopard-test).
 */
function defaultPath(id: string): string | undefined {
  const parent = process.env["LEOPARD_CGROUP_PARENT"];
  return parent ? `${parent.replace(/\/+$/, "")}/${id}` : undefined;
}

export interface ContainerCgroup {
  /** None for a rootless container that could make no cgroup. */
  cg?: CgroupManager;
  paths: CgroupPaths;
  /** With --systemd-cgroup, the scope unit systemd made for the container (state keeps it). */
  scope?: SystemdScope;
  /** Puts the helper (pid) into the cgroup, at sync 2. */
  join(pid: number): void;
  /** Kills what is in the cgroup and removes it (and the scope). */
  destroy(): void;
}

/** Where the container's cgroup is, per hierarchy (nothing is created). */
export function cgroupPathsFor(spec: Spec, id: string, systemd: boolean, rootless = false): CgroupPaths {
  if (rootless && !systemd) return rootlessPaths(spec, id);
  // The systemd path is never defaulted from LEOPARD_CGROUP_PARENT: it is slice:prefix:name.
  const path = systemd ? spec.linux.cgroupsPath : (spec.linux.cgroupsPath ?? defaultPath(id));
  // Rootless, the user's own manager makes the scope, under its cgroup (runc's systemd driver).
  const user = systemd && rootless ? { userManager: () => userManagerCgroup() } : {};
  return resolveCgroupsPath(path, id, hostLayout(), { systemd, ...user });
}

export type JoinFiles = ReturnType<CgroupManager["joinFiles"]>;

/**
 * The files the helper joins the container's cgroup by without a cgroup.procs write (JOIN_CGROUP,
 * FORK_PID1 into the cgroup2 directory), or undefined where that does not hold and sync 2 (the
 * runtime writes the helper's pid) is used: with --systemd-cgroup (systemd moves the pid), a user
 * namespace (a process in one may not move itself, and clone3 into a cgroup checks the new
 * user's rights), a joined cgroup namespace (the cgroup must be inside it), rootless (a user's
 * delegated cgroup is its own business) and on kernels before 5.7 (no CLONE_INTO_CGROUP).
 */
export function cgroupJoinFiles(
  spec: Spec,
  paths: CgroupPaths,
  systemd: boolean,
  rootless = false,
): JoinFiles | undefined {
  if (systemd || rootless) return undefined;
  const ns = spec.linux?.namespaces ?? [];
  if (ns.some((n) => n.type === "user" || (n.type === "cgroup" && n.path))) return undefined;
  const [major = 0, minor = 0] = readText("/proc/sys/kernel/osrelease").split(".").map(Number);
  if (major < 5 || (major === 5 && minor < 7)) return undefined;
  return openCgroup(paths).joinFiles();
}

/**
 * Rootless (src/cgroups/rootless.ts): by default under the runtime's own cgroup (its parent on
 * cgroup v2), as runc does, in the hierarchies this user may write (a delegated subtree); none on
 * a plain cgroup v1 host.
 */
function rootlessPaths(spec: Spec, id: string): CgroupPaths {
  const layout = hostLayout();
  const given = spec.linux.cgroupsPath ?? defaultPath(id);
  const paths = resolveCgroupsPath(given ?? id, id, layout);
  return rootlessCgroupPaths(paths, {
    explicit: given !== undefined,
    writable: (key, path) => {
      let dir = hierarchyDir(layout, key, path);
      // The nearest level that exists must be ours to write (a directory made in it is then ours).
      while (dir !== undefined && dir.length > 1) {
        if (existsSync(dir)) {
          try {
            accessSync(dir, constants.W_OK);
            return true;
          } catch {
            return false;
          }
        }
        dir = dirname(dir);
      }
      return false;
    },
    limits: requestedLimits(readResources(spec.linux.resources)),
    mode: layout.mode,
  });
}

/** The scope unit --systemd-cgroup makes for the container (named before it exists). */
export function scopeUnitFor(spec: Spec, id: string): string {
  return parseSystemdPath(spec.linux.cgroupsPath, id).unit;
}

/**
 * Creates and limits the cgroup; throws (having removed it) when a resource cannot be set. With
 * --systemd-cgroup nothing exists until join: systemd makes the scope with the helper in it, then
 * the other hierarchies' cgroups are made and the limits written.
 */
export function prepareCgroup(
  spec: Spec,
  paths: CgroupPaths,
  id: string,
  systemd: boolean,
  rootless = false,
): ContainerCgroup {
  // A rootless container with no cgroup it may make (src/cgroups/rootless.ts): none at all.
  if (!systemd && Object.keys(paths).length === 0) return noCgroup(paths);
  const resources = readResources(spec.linux.resources);
  // Rootless, no device rules: a user may not attach (or even query) a cgroup v2 device program,
  // nor write a v1 devices cgroup; runc ignores the device cgroup there too. The container's
  // devices are still only the ones its user namespace lets it open.
  const limits = { ...resources, devices: rootless ? [] : containerDeviceRules(resources.devices) };
  const cg = openCgroup(paths);
  if (systemd) {
    const parsed = parseSystemdPath(spec.linux.cgroupsPath, id, rootless ? { base: "" } : undefined);
    // Its cgroup as resolved before (a user manager's scope lies under the manager's own cgroup).
    const scope = { ...parsed, path: paths[""] ?? Object.values(paths)[0] ?? parsed.path };
    const bus = busctlOn(rootless ? "user" : "system");
    const destroy = () => {
      try {
        cg.destroy();
      } finally {
        stopScope(scope.unit, bus);
      }
    };
    // A failure after the scope exists is cleaned up by the caller's destroy(), scope included.
    const join = (pid: number) => {
      startScope(scope, pid, `leopard container ${id}`, scopeProperties(limits, cg.mode === "v2"), bus);
      // Where systemd did not make it (v1 controllers it does not manage), made and joined here.
      cg.create();
      cg.apply(pid);
      cg.set(limits);
    };
    return { cg, paths, scope, join, destroy };
  }
  cg.create();
  try {
    cg.set(limits);
  } catch (e) {
    cg.destroy();
    throw e;
  }
  return { cg, paths, join: (pid) => cg.apply(pid), destroy: () => cg.destroy() };
}

export function reopenCgroup(paths: CgroupPaths | undefined): CgroupManager | undefined {
  return paths === undefined || Object.keys(paths).length === 0 ? undefined : openCgroup(paths);
}

/** The stand-in for a rootless container without a cgroup: joining and removing do nothing. */
function noCgroup(paths: CgroupPaths): ContainerCgroup {
  return { paths, join: () => {}, destroy: () => {} };
}
