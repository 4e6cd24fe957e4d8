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
import type { Spec } from "../spec/types.ts";

/**
 * Where a container goes when config.json names no cgroupsPath: /leopard/<id>, or
 * $LEOPARD_CGROUP_PARENT/<id> (tests keep theirs under /leopard-test).
 */
function defaultPath(id: string): string | undefined {
  const parent = process.env["LEOPARD_CGROUP_PARENT"];
  return parent ? `${parent.replace(/\/+$/, "")}/${id}` : undefined;
}

export interface ContainerCgroup {
  cg: CgroupManager;
  paths: CgroupPaths;
}

/** Where the container's cgroup is, per hierarchy (nothing is created). */
export function cgroupPathsFor(spec: Spec, id: string, systemd: boolean): CgroupPaths {
  return resolveCgroupsPath(spec.linux.cgroupsPath ?? defaultPath(id), id, hostLayout(), { systemd });
}

/** Creates and limits the cgroup; throws (having removed it) when a resource cannot be set. */
export function prepareCgroup(spec: Spec, paths: CgroupPaths): ContainerCgroup {
  const resources = readResources(spec.linux.resources);
  const cg = openCgroup(paths);
  cg.create();
  try {
    cg.set({ ...resources, devices: containerDeviceRules(resources.devices, spec.linux.devices) });
  } catch (e) {
    cg.destroy();
    throw e;
  }
  return { cg, paths };
}

export function reopenCgroup(paths: CgroupPaths | undefined): CgroupManager | undefined {
  return paths === undefined ? undefined : openCgroup(paths);
}
