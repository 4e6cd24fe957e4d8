// config.json `process`: what runs, as whom, with which capabilities and limits.
import { CAPABILITIES, capabilityNumber } from "./capabilities.ts";
import {
  absolute,
  at,
  boolean,
  fail,
  firstDuplicate,
  get,
  id,
  int32,
  integer,
  type JsonObject,
  list,
  object,
  oneOf,
  opt,
  orList,
  quote,
  req,
  string,
  strings,
  uint64,
  uint64n,
} from "./read.ts";
import { isRlimitType } from "./rlimits.ts";
import {
  type ConsoleSize,
  type ExecCpuAffinity,
  IO_PRIORITY_CLASSES,
  type IoPriority,
  type Rlimit,
  SCHEDULER_FLAGS,
  SCHEDULER_POLICIES,
  type SpecCapabilities,
  type SpecProcess,
  type SpecScheduler,
  type SpecUser,
} from "./types.ts";

export function readProcess(v: unknown, field: string): SpecProcess {
  const o = object(v, field);
  return {
    terminal: opt(o, "terminal", field, boolean) ?? false,
    consoleSize: opt(o, "consoleSize", field, readConsoleSize),
    user: req(o, "user", field, readUser),
    args: readArgs(get(o, "args"), at(field, "args")),
    commandLine: opt(o, "commandLine", field, string),
    env: opt(o, "env", field, (e, f) => list(e, f, readEnv)) ?? [],
    cwd: req(o, "cwd", field, absolute),
    capabilities: opt(o, "capabilities", field, readCapabilities) ?? EMPTY_CAPABILITIES,
    rlimits: opt(o, "rlimits", field, readRlimits) ?? [],
    noNewPrivileges: opt(o, "noNewPrivileges", field, boolean) ?? false,
    apparmorProfile: opt(o, "apparmorProfile", field, string),
    oomScoreAdj: opt(o, "oomScoreAdj", field, (e, f) => integer(e, f, -1000, 1000)),
    selinuxLabel: opt(o, "selinuxLabel", field, string),
    ioPriority: opt(o, "ioPriority", field, readIoPriority),
    scheduler: opt(o, "scheduler", field, readScheduler),
    execCPUAffinity: opt(o, "execCPUAffinity", field, readCpuAffinity),
  };
}

const EMPTY_CAPABILITIES: SpecCapabilities = {
  bounding: [],
  effective: [],
  inheritable: [],
  permitted: [],
  ambient: [],
};

function readArgs(v: unknown, field: string): string[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((a) => typeof a === "string")) {
    fail(field, "must be a non-empty array of strings");
  }
  return strings(v, field);
}

function readEnv(v: unknown, field: string): string {
  const s = string(v, field);
  const eq = s.indexOf("=");
  if (eq <= 0) fail(field, `${quote(s)} must look like KEY=value`);
  return s;
}

function readConsoleSize(v: unknown, field: string): ConsoleSize {
  const o = object(v, field);
  const dim = (e: unknown, f: string): number => integer(e, f, 0, 0xffff);
  return { height: req(o, "height", field, dim), width: req(o, "width", field, dim) };
}

function readUser(v: unknown, field: string): SpecUser {
  const o = object(v, field);
  return {
    uid: req(o, "uid", field, id),
    gid: req(o, "gid", field, id),
    umask: opt(o, "umask", field, (e, f) => integer(e, f, 0, 0o777)),
    additionalGids: opt(o, "additionalGids", field, (e, f) => list(e, f, id)) ?? [],
    username: opt(o, "username", field, string),
  };
}

function readCapabilities(v: unknown, field: string): SpecCapabilities {
  const o = object(v, field);
  const set = (name: string): string[] => opt(o, name, field, (e, f) => list(e, f, readCapability)) ?? [];
  return {
    bounding: set("bounding"),
    effective: set("effective"),
    inheritable: set("inheritable"),
    permitted: set("permitted"),
    ambient: set("ambient"),
  };
}

function readCapability(v: unknown, field: string): string {
  const s = string(v, field);
  if (!/^CAP_[A-Z_]+$/.test(s)) fail(field, `${quote(s)} is not a capability name (like "CAP_CHOWN")`);
  if (capabilityNumber(s) === undefined) {
    fail(field, `${quote(s)} is not a known capability (${CAPABILITIES[0]} to ${CAPABILITIES.at(-1)})`);
  }
  return s;
}

function readRlimits(v: unknown, field: string): Rlimit[] {
  const out = list(v, field, readRlimit);
  const dup = firstDuplicate(out.map((r) => r.type));
  if (dup !== undefined) fail(field, `has ${quote(dup)} twice`);
  return out;
}

function readRlimit(v: unknown, field: string): Rlimit {
  const o = object(v, field);
  const type = req(o, "type", field, string);
  if (!isRlimitType(type))
    fail(at(field, "type"), `${quote(type)} is not a resource limit (like "RLIMIT_NOFILE")`);
  const soft = req(o, "soft", field, uint64);
  const hard = req(o, "hard", field, uint64);
  if (soft > hard) fail(field, `soft limit ${soft} is above the hard limit ${hard}`);
  return { type, soft, hard };
}

function readIoPriority(v: unknown, field: string): IoPriority {
  const o = object(v, field);
  return {
    class: req(o, "class", field, (e, f) =>
      oneOf(e, f, IO_PRIORITY_CLASSES, "an I/O priority class", orList(IO_PRIORITY_CLASSES)),
    ),
    priority: opt(o, "priority", field, (e, f) => integer(e, f, 0, 7)) ?? 0,
  };
}

function readScheduler(v: unknown, field: string): SpecScheduler {
  const o: JsonObject = object(v, field);
  const policy = req(o, "policy", field, (e, f) => oneOf(e, f, SCHEDULER_POLICIES, "a scheduler policy"));
  const s: SpecScheduler = {
    policy,
    nice: opt(o, "nice", field, (e, f) => integer(e, f, -20, 19)) ?? 0,
    priority: opt(o, "priority", field, int32) ?? 0,
    flags:
      opt(o, "flags", field, (e, f) =>
        list(e, f, (x, g) => oneOf(x, g, SCHEDULER_FLAGS, "a scheduler flag")),
      ) ?? [],
    runtime: opt(o, "runtime", field, uint64n) ?? 0,
    deadline: opt(o, "deadline", field, uint64n) ?? 0,
    period: opt(o, "period", field, uint64n) ?? 0,
  };
  // The kernel's rules (sched_setattr(2)), checked here so the error names the field.
  if (s.priority !== 0 && policy !== "SCHED_FIFO" && policy !== "SCHED_RR") {
    fail(at(field, "priority"), `is only for "SCHED_FIFO" and "SCHED_RR", not ${quote(policy)}`);
  }
  if (policy !== "SCHED_DEADLINE") {
    for (const k of ["runtime", "deadline", "period"] as const) {
      if (s[k] !== 0) fail(at(field, k), `is only for "SCHED_DEADLINE", not ${quote(policy)}`);
    }
  }
  return s;
}

function readCpuAffinity(v: unknown, field: string): ExecCpuAffinity {
  const o = object(v, field);
  const cpus = (e: unknown, f: string): string => {
    const s = string(e, f);
    if (!/^[0-9, -]*$/.test(s)) fail(f, `${quote(s)} is not a CPU list (like "0-3,7")`);
    return s;
  };
  return { initial: opt(o, "initial", field, cpus), final: opt(o, "final", field, cpus) };
}
