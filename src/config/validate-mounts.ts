// config.json `root`, `mounts` and `hooks`: the paths. Relative host paths (root.path, a bind
// mount's source) are resolved against the bundle here, by string, without touching the disk.
import { posix } from "../util/path.ts";
import {
  absolute,
  at,
  boolean,
  fail,
  integer,
  list,
  nonEmptyString,
  object,
  opt,
  req,
  string,
  strings,
} from "./read.ts";
import type { SpecHook, SpecHooks, SpecMount, SpecRoot } from "./types.ts";
import { readIdMappings } from "./validate-ids.ts";

export function readRoot(v: unknown, field: string, bundle: string): SpecRoot {
  const o = object(v, field);
  const path = req(o, "path", field, nonEmptyString);
  return { path: posix.resolve(bundle, path), readonly: opt(o, "readonly", field, boolean) ?? false };
}

export function readMounts(v: unknown, field: string, bundle: string): SpecMount[] {
  return list(v, field, (e, f) => readMount(e, f, bundle));
}

/** A bind mount, as the runtime-spec defines it: "bind" or "rbind" among the options. */
export function isBind(options: readonly string[]): boolean {
  return options.includes("bind") || options.includes("rbind");
}

function readMount(v: unknown, field: string, bundle: string): SpecMount {
  const o = object(v, field);
  const destination = req(o, "destination", field, absolute);
  const options = opt(o, "options", field, strings) ?? [];
  let source = opt(o, "source", field, string);
  if (source !== undefined && isBind(options) && !source.startsWith("/"))
    source = posix.resolve(bundle, source);
  const uidMappings = opt(o, "uidMappings", field, readIdMappings) ?? [];
  const gidMappings = opt(o, "gidMappings", field, readIdMappings) ?? [];
  if (uidMappings.length > 0 || gidMappings.length > 0) {
    if (uidMappings.length === 0) fail(at(field, "uidMappings"), "must be set when gidMappings is");
    if (gidMappings.length === 0) fail(at(field, "gidMappings"), "must be set when uidMappings is");
    if (!isBind(options)) fail(at(field, "uidMappings"), 'needs a bind mount ("bind" or "rbind" in options)');
  }
  // idmap/ridmap are mount_setattr(MOUNT_ATTR_IDMAP) on a bind mount's clone: nothing else has one.
  const idmap = options.find((x) => x === "idmap" || x === "ridmap");
  if (idmap !== undefined && !isBind(options))
    fail(at(field, "options"), `has "${idmap}", which needs a bind mount ("bind" or "rbind" in options)`);
  const type = opt(o, "type", field, string);
  checkProcMount(destination, type, source, options, field);
  return { destination, source, type, options, uidMappings, gidMappings };
}

/** Files lxcfs emulates: a bind mount over one of these is all runc allows inside /proc. */
const LXCFS_PROC_FILES = new Set([
  "/proc/cpuinfo",
  "/proc/diskstats",
  "/proc/meminfo",
  "/proc/stat",
  "/proc/swaps",
  "/proc/uptime",
  "/proc/loadavg",
  "/proc/slabinfo",
  "/proc/net/dev",
  "/proc/sys/kernel/ns_last_pid",
  "/proc/sys/crypto/fips_enabled",
]);

/**
 * A mount over /proc or inside it would put something else where the runtime writes the
 * process's LSM label or its sysctls (CVE-2019-16884: a bind over /proc left the container
 * unconfined), so as runc: /proc takes procfs only (or a bind of the host's /proc, as podman
 * makes for --pid=host without a user namespace of its own), and inside /proc only the files
 * lxcfs provides.
 */
function checkProcMount(
  destination: string,
  type: string | undefined,
  source: string | undefined,
  options: readonly string[],
  field: string,
): void {
  const dest = posix.normalize(destination).replace(/(.)\/+$/, "$1");
  const bind = isBind(options) || type === "bind";
  if (dest === "/proc") {
    if (type === "proc" && !bind) return;
    if (bind && source !== undefined && posix.normalize(source).replace(/(.)\/+$/, "$1") === "/proc") return;
    fail(
      at(field, "destination"),
      `is "/proc", where only procfs may be mounted (type "proc"), not ${bind ? `a bind mount of "${source ?? ""}"` : `type "${type ?? ""}"`}`,
    );
  }
  if (dest.startsWith("/proc/") && !LXCFS_PROC_FILES.has(dest))
    fail(
      at(field, "destination"),
      `${JSON.stringify(destination)} is inside /proc, where nothing but procfs and the files lxcfs provides (e.g. "/proc/meminfo") may be mounted`,
    );
}

export function readHooks(v: unknown, field: string): SpecHooks {
  const o = object(v, field);
  const hooks = (name: keyof SpecHooks): SpecHook[] =>
    opt(o, name, field, (e, f) => list(e, f, readHook)) ?? [];
  return {
    prestart: hooks("prestart"),
    createRuntime: hooks("createRuntime"),
    createContainer: hooks("createContainer"),
    startContainer: hooks("startContainer"),
    poststart: hooks("poststart"),
    poststop: hooks("poststop"),
  };
}

export const NO_HOOKS: SpecHooks = {
  prestart: [],
  createRuntime: [],
  createContainer: [],
  startContainer: [],
  poststart: [],
  poststop: [],
};

function readHook(v: unknown, field: string): SpecHook {
  const o = object(v, field);
  return {
    path: req(o, "path", field, absolute),
    args: opt(o, "args", field, strings) ?? [],
    env: opt(o, "env", field, strings) ?? [],
    timeout: opt(o, "timeout", field, (e, f) => integer(e, f, 1, 2 ** 31 - 1)),
  };
}
