// config.json `linux.seccomp`: names and shapes only. Whether libseccomp knows a syscall
// name or an architecture on this host is for src/seccomp to find out when it compiles.
import {
  at,
  fail,
  integer,
  list,
  nonEmptyString,
  object,
  oneOf,
  opt,
  quote,
  req,
  string,
  uint32,
  uint64,
} from "./read.ts";
import {
  SECCOMP_ACTIONS,
  SECCOMP_ARCHES,
  SECCOMP_FLAGS,
  SECCOMP_OPERATORS,
  type SeccompAction,
  type SeccompArg,
  type SeccompRule,
  type SpecSeccomp,
} from "./types.ts";

/**
 * The syscalls the runtime's helper makes between installing a filter with a listener and the
 * agent holding that listener (send it, close its own copy, wait for the parent): notified, they
 * would wait for an answer nobody can give. runc refuses "write" for the same reason.
 */
const RUNTIME_BEFORE_AGENT: Readonly<Record<string, string>> = {
  sendmsg: "passes the listener to the agent with it",
  close: "closes its own copy of the listener with it",
  recvfrom: "waits for the agent to have the listener with it",
};

/** The actions that carry an errno (SCMP_ACT_ERRNO(x), SCMP_ACT_TRACE(x)). */
const TAKES_ERRNO: readonly SeccompAction[] = ["SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"];

const action = (v: unknown, f: string): SeccompAction => oneOf(v, f, SECCOMP_ACTIONS, "a seccomp action");

export function readSeccomp(v: unknown, field: string): SpecSeccomp {
  const o = object(v, field);
  const defaultAction = req(o, "defaultAction", field, action);
  // libseccomp refuses a filter whose default is to notify: the listener would get every syscall.
  if (defaultAction === "SCMP_ACT_NOTIFY") fail(at(field, "defaultAction"), 'cannot be "SCMP_ACT_NOTIFY"');
  const defaultErrnoRet = opt(o, "defaultErrnoRet", field, uint32);
  if (defaultErrnoRet !== undefined && !TAKES_ERRNO.includes(defaultAction)) {
    fail(
      at(field, "defaultErrnoRet"),
      `is set but the default action ${quote(defaultAction)} takes no errno`,
    );
  }
  const seccomp: SpecSeccomp = {
    defaultAction,
    defaultErrnoRet,
    architectures:
      opt(o, "architectures", field, (e, f) =>
        list(e, f, (x, g) => oneOf(x, g, SECCOMP_ARCHES, "a seccomp architecture")),
      ) ?? [],
    flags:
      opt(o, "flags", field, (e, f) => list(e, f, (x, g) => oneOf(x, g, SECCOMP_FLAGS, "a seccomp flag"))) ??
      [],
    listenerPath: opt(o, "listenerPath", field, nonEmptyString),
    listenerMetadata: opt(o, "listenerMetadata", field, string),
    syscalls: opt(o, "syscalls", field, (e, f) => list(e, f, readRule)) ?? [],
  };
  if (seccomp.listenerMetadata !== undefined && seccomp.listenerPath === undefined) {
    fail(at(field, "listenerMetadata"), "is set but listenerPath is not");
  }
  const notify = seccomp.syscalls.findIndex((r) => r.action === "SCMP_ACT_NOTIFY");
  if (notify >= 0 && seccomp.listenerPath === undefined) {
    fail(at(field, `syscalls[${notify}].action`), '"SCMP_ACT_NOTIFY" needs linux.seccomp.listenerPath');
  }
  seccomp.syscalls.forEach((r, i) => {
    if (r.action !== "SCMP_ACT_NOTIFY") return;
    r.names.forEach((name, j) => {
      const why = RUNTIME_BEFORE_AGENT[name];
      if (why !== undefined)
        fail(
          at(field, `syscalls[${i}].names[${j}]`),
          `${quote(name)} cannot be notified (SCMP_ACT_NOTIFY): the runtime ${why}`,
        );
    });
  });
  return seccomp;
}

function readRule(v: unknown, field: string): SeccompRule {
  const o = object(v, field);
  const names = req(o, "names", field, (e, f) => list(e, f, nonEmptyString));
  if (names.length === 0) fail(at(field, "names"), "must name at least one syscall");
  const act = req(o, "action", field, action);
  const errnoRet = opt(o, "errnoRet", field, uint32);
  if (errnoRet !== undefined && !TAKES_ERRNO.includes(act)) {
    fail(at(field, "errnoRet"), `is set but the action ${quote(act)} takes no errno`);
  }
  return { names, action: act, errnoRet, args: opt(o, "args", field, (e, f) => list(e, f, readArg)) ?? [] };
}

function readArg(v: unknown, field: string): SeccompArg {
  const o = object(v, field);
  return {
    index: req(o, "index", field, (e, f) => integer(e, f, 0, 5)),
    value: req(o, "value", field, uint64),
    valueTwo: opt(o, "valueTwo", field, uint64) ?? 0n,
    op: req(o, "op", field, (e, f) => oneOf(e, f, SECCOMP_OPERATORS, "a seccomp operator")),
  };
}
