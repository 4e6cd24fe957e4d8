// Idmapped bind mounts (runtime-spec: a bind mount with uidMappings/gidMappings, or the options
// "idmap"/"ridmap"): which mounts are idmapped, with which maps, and how far down.
//
// How one is made, and why there: MOUNT_ATTR_IDMAP needs CAP_SYS_ADMIN over the source
// filesystem's user namespace (the host's), which the helper no longer has once it has created
// the container's user namespace. So the runtime makes the mount before the helper starts, as
// runc does: it starts a short-lived process in a new user namespace carrying the mount's maps
// (our own helper with a two-op plan: UNSHARE user, SYNC 1, at which the runtime writes the maps),
// opens /proc/<pid>/ns/user, clones the source with open_tree(OPEN_TREE_CLONE[|AT_RECURSIVE]),
// applies mount_setattr(MOUNT_ATTR_IDMAP, userns fd) to the detached clone, and lets the process
// go. The detached mount's fd is inherited by the helper at a number the plan names, and a
// MOVE_MOUNT op attaches it onto the target, resolved inside the root like every other target.
//
// The maps read as the runtime-spec's (and runc's): a file owned by `containerID` on disk is seen
// through the mount as owned by `hostID` (the kernel maps disk ids through the mount's user
// namespace). A mount with "idmap" but no maps of its own takes the container's user namespace
// maps, so the container's root owns what the host's root owns.

import { LeopardError } from "../util/errors.ts";
import { parseMountOptions } from "./mount-options.ts";
import type { IdMap, PlanSpec } from "./types.ts";

export interface IdmapRequest {
  /** The mount's index in spec.mounts. */
  index: number;
  source: string;
  destination: string;
  /** open_tree(AT_RECURSIVE): the bind is an rbind, so submounts come along. */
  recursiveBind: boolean;
  /** mount_setattr(AT_RECURSIVE): "ridmap", the submounts are idmapped too. */
  recursiveIdmap: boolean;
  uidMappings: readonly IdMap[];
  gidMappings: readonly IdMap[];
}

function isBindMount(type: string | undefined, options: readonly string[]): boolean {
  return type === "bind" || options.includes("bind") || options.includes("rbind");
}

/** The idmapped mounts of a spec, in order. Throws a one-line error naming a mount that cannot be one. */
export function idmapRequests(spec: PlanSpec): IdmapRequest[] {
  const out: IdmapRequest[] = [];
  const ns = spec.linux?.namespaces ?? [];
  const createsUser = ns.some((n) => n.type === "user" && !n.path);
  (spec.mounts ?? []).forEach((m, index) => {
    const options = m.options ?? [];
    const opts = parseMountOptions(options);
    const own = (m.uidMappings?.length ?? 0) > 0 || (m.gidMappings?.length ?? 0) > 0;
    if (opts.idmap === "none" && !own) return;
    const name = `mount "${m.destination}"`;
    if (!isBindMount(m.type, options))
      throw new LeopardError("invalid-spec", `${name}: idmapped mounts must be bind mounts`);
    let uidMappings = m.uidMappings ?? [];
    let gidMappings = m.gidMappings ?? [];
    if (!own) {
      if (!createsUser)
        throw new LeopardError(
          "invalid-spec",
          `${name}: "${opts.idmap}" without uidMappings/gidMappings needs a user namespace the container creates`,
        );
      uidMappings = spec.linux?.uidMappings ?? [];
      gidMappings = spec.linux?.gidMappings ?? [];
    }
    if (uidMappings.length === 0 || gidMappings.length === 0)
      throw new LeopardError(
        "invalid-spec",
        `${name}: an idmapped mount needs both uidMappings and gidMappings`,
      );
    out.push({
      index,
      source: m.source ?? "",
      destination: m.destination,
      recursiveBind: opts.recursive,
      recursiveIdmap: opts.idmap === "ridmap",
      uidMappings,
      gidMappings,
    });
  });
  return out;
}

/** The maps as uid_map/gid_map text. */
export function mapText(maps: readonly IdMap[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join("");
}

/** The maps as util-linux's X-mount.idmap= value (`u:from:to:count g:...`), for explanations. */
export function idmapOptionText(uid: readonly IdMap[], gid: readonly IdMap[]): string {
  const one = (k: string, m: IdMap): string => `${k}:${m.containerID}:${m.hostID}:${m.size}`;
  return [...uid.map((m) => one("u", m)), ...gid.map((m) => one("g", m))].join(" ");
}
