// linux.cgroupsPath → the container's cgroup in each hierarchy.
//
// Absolute paths are taken as they are inside every hierarchy. Relative paths are relative to
// the cgroup the runtime itself runs in, per hierarchy (runc's rule: on v1 the runtime may sit
// in different cgroups of different controllers); on a cgroup-v2-only host, to that cgroup's
// parent, as runc's fs2 driver does: the caller's own cgroup (a session's scope) holds processes,
// so cgroup v2 lets it enable no controller for a child, while its parent (in a systemd user
// session, the delegated app.slice) can. No path means /leopard/<id>. The result is
// resolved once, at create, and kept in the container's state: later commands (update, pause,
// delete) may run in other cgroups than create did.

import { callerPid } from "../sys/caller.ts";
import { existsSync } from "../sys/fs-sync.ts";
import { LeopardError } from "../util/errors.ts";
import type { CgroupLayout } from "./layout.ts";
import { procCgroup } from "./layout.ts";
import { parseSystemdPath } from "./systemd.ts";

/** Hierarchy key ("" for cgroup2, a v1 controller name otherwise) → absolute cgroup path. */
export type CgroupPaths = Readonly<Record<string, string>>;

export const DEFAULT_PARENT = "/leopard";

/** The hierarchies a container joins: every mounted v1 one, and cgroup2 where it is mounted. */
export function hierarchyKeys(layout: CgroupLayout): string[] {
  if (layout.mode === "v2") return [""];
  const keys = [...layout.v1.keys()];
  if (layout.unified !== undefined) keys.push("");
  return keys;
}

/** "/a//b/" → "/a/b"; refuses "." and ".." so a path never leaves the hierarchy. */
export function normalizeCgroupPath(p: string, field = "linux.cgroupsPath"): string {
  const parts = p.split("/").filter((s) => s !== "");
  for (const s of parts) {
    if (s === "." || s === "..") {
      throw new LeopardError("invalid-spec", `${field} ${JSON.stringify(p)} must not contain "." or ".."`);
    }
  }
  return `/${parts.join("/")}`;
}

export interface ResolveOptions {
  /** The runtime's own cgroups (for relative paths): its caller's (src/sys/caller.ts) by default. */
  readonly own?: () => ReadonlyMap<string, string>;
  /** runc's --systemd-cgroup: the path is "slice:prefix:name" and systemd makes the scope. */
  readonly systemd?: boolean;
  /** Whether systemd is the host's init (/run/systemd/system exists). */
  readonly systemdRunning?: () => boolean;
  /** Rootless --systemd-cgroup: the user manager's own cgroup, which its scopes go under. */
  readonly userManager?: () => string;
}

export function resolveCgroupsPath(
  cgroupsPath: string | undefined,
  id: string,
  layout: CgroupLayout,
  opts: ResolveOptions = {},
): CgroupPaths {
  const keys = hierarchyKeys(layout);
  const given = cgroupsPath ?? "";
  if (opts.systemd === true) {
    const running = (opts.systemdRunning ?? (() => existsSync("/run/systemd/system")))();
    if (!running)
      throw new LeopardError(
        "unsupported",
        "--systemd-cgroup needs systemd, which is not running on this host (leave the flag out to use cgroupfs)",
      );
    if (opts.userManager !== undefined && layout.mode !== "v2")
      throw new LeopardError(
        "unsupported",
        "--systemd-cgroup rootless needs cgroup v2 only (a user's systemd manager is delegated no cgroup v1 hierarchy)",
      );
    const user = opts.userManager === undefined ? undefined : { base: opts.userManager() };
    const scope = parseSystemdPath(cgroupsPath, id, user).path;
    return Object.fromEntries(keys.map((k) => [k, scope]));
  }
  if (/^[^/:]*\.slice:[^:]*:[^:]+$/.test(given)) {
    throw new LeopardError(
      "invalid-spec",
      `linux.cgroupsPath ${JSON.stringify(given)} is a systemd path (slice:prefix:name), which needs --systemd-cgroup`,
    );
  }
  if (given === "") return Object.fromEntries(keys.map((k) => [k, `${DEFAULT_PARENT}/${id}`]));
  if (given.startsWith("/")) {
    const abs = normalizeCgroupPath(given);
    if (abs === "/") throw new LeopardError("invalid-spec", 'linux.cgroupsPath "/" is the root cgroup');
    return Object.fromEntries(keys.map((k) => [k, abs]));
  }
  const rel = normalizeCgroupPath(given);
  const mine = (opts.own ?? (() => procCgroup(callerPid())))();
  const out: Record<string, string> = {};
  for (const k of keys) {
    const base = mine.get(k);
    if (base === undefined) {
      throw new LeopardError(
        "system",
        `linux.cgroupsPath ${JSON.stringify(given)} is relative but the runtime's own ${k === "" ? "cgroup2" : JSON.stringify(k)} cgroup is unknown`,
      );
    }
    const at = layout.mode === "v2" ? base.slice(0, base.lastIndexOf("/")) : base;
    out[k] = normalizeCgroupPath(`${at}/${rel}`);
  }
  return out;
}
