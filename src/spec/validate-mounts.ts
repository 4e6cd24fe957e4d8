// config.json `root`, `mounts` and `hooks`: the paths. Relative host paths (root.path, a bind
// mount's source) are resolved against the bundle here, by string, without touching the disk.
import { posix } from "node:path";
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
  return { destination, source, type: opt(o, "type", field, string), options, uidMappings, gidMappings };
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
