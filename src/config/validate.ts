// config.json → Spec: the one place a runtime-spec document becomes trusted. Pure: no I/O
// (whether root.path exists is for the runtime to find out). The first problem found is
// thrown as a SpecError; unknown keys are ignored, as the runtime-spec requires.

import { LeopardError } from "../util/errors.ts";
import { posix } from "../util/path.ts";
import { SpecError } from "./errors.ts";
import { fail, isObject, type JsonObject, opt, quote, req, string, stringMap } from "./read.ts";
import type { Spec, SpecFields } from "./types.ts";
import { EMPTY_LINUX, readLinux } from "./validate-linux.ts";
import { NO_HOOKS, readHooks, readMounts, readRoot } from "./validate-mounts.ts";
import { readProcess } from "./validate-process.ts";
import { checkRules } from "./validate-rules.ts";

export interface ValidateOptions {
  /** The bundle directory, absolute: relative paths in config.json are resolved against it. */
  bundle: string;
}

export function validateSpec(raw: unknown, opts: ValidateOptions): Spec {
  if (!posix.isAbsolute(opts.bundle)) {
    throw new LeopardError("invalid-argument", `bundle ${quote(opts.bundle)} must be an absolute path`);
  }
  const bundle = posix.resolve(opts.bundle); // absolute, so only normalized: no cwd involved
  if (!isObject(raw)) throw new SpecError("", "must hold a JSON object");
  const o: JsonObject = raw;
  const ociVersion = req(o, "ociVersion", "", readOciVersion);
  const rest = {
    root: req(o, "root", "", (v, f) => readRoot(v, f, bundle)),
    process: req(o, "process", "", readProcess),
    hostname: unlessEmpty(opt(o, "hostname", "", readHostname)),
    domainname: unlessEmpty(opt(o, "domainname", "", readHostname)),
    mounts: opt(o, "mounts", "", (v, f) => readMounts(v, f, bundle)) ?? [],
    hooks: opt(o, "hooks", "", readHooks) ?? NO_HOOKS,
    annotations: opt(o, "annotations", "", stringMap) ?? {},
    linux: opt(o, "linux", "", readLinux) ?? EMPTY_LINUX,
  };
  checkRules(rest);
  const fields: SpecFields = { ociVersion, bundle, ...rest };
  // The only place a Spec is made: everything above has been checked.
  return fields as Spec;
}

/** SemVer 2.0.0, as the runtime-spec requires of ociVersion. */
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

/** 1.0.0 or any later 1.x (a newer minor only adds fields, which are ignored). */
function readOciVersion(v: unknown, field: string): string {
  const s = string(v, field);
  const m = SEMVER.exec(s);
  const major = Number(m?.[1]);
  const prerelease = m?.[4] !== undefined;
  // 1.0.0-rc… predates 1.0.0 (semver orders pre-releases first) and had another format.
  if (!m || major < 1 || (major === 1 && m[2] === "0" && m[3] === "0" && prerelease)) {
    fail(field, `${quote(s)} is not supported (need 1.0.0 or later)`);
  }
  if (major > 1) fail(field, `${quote(s)} is not supported (need 1.x)`);
  return s;
}

/** A hostname for sethostname(2): at most 64 bytes (HOST_NAME_MAX). */
function readHostname(v: unknown, field: string): string {
  const s = string(v, field);
  const bytes = new TextEncoder().encode(s).length;
  if (bytes > 64) fail(field, `${quote(s)} is longer than 64 bytes`);
  return s;
}

/** runc treats an empty hostname as not set; so does leopard. */
function unlessEmpty(s: string | undefined): string | undefined {
  return s === "" ? undefined : s;
}
