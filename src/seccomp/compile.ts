// The OCI seccomp section → a BPF program and seccomp(2) flags, for the helper's SECCOMP op.
// Pure in effect: the same section and the same libseccomp give the same bytes. We follow runc
// wherever the spec leaves room, so a profile behaves here as it does under runc:
//
// - A syscall name this libseccomp does not know is skipped (runc ignores it too); so is a name
//   that exists only on architectures the filter does not have.
// - A rule whose action equals the default action is skipped (libseccomp refuses it).
// - Several conditions on the same argument in one rule become one rule per condition
//   (libseccomp refuses them together; runc splits them the same way, which ORs them).
// - The native architecture is always in the filter; listed ones are added. An architecture
//   libseccomp does not know is an error, as in runc.
// - Unless the default action allows (ALLOW, LOG, TRACE), runc's -ENOSYS stub goes first: a
//   syscall newer than every syscall the profile names answers ENOSYS (see bpf.ts).
// - no_new_privs is not libseccomp's business: the runtime sets it itself from the spec.
import type {
  SeccompAction,
  SeccompArch,
  SeccompFlag,
  SeccompOperator,
  SpecSeccomp,
} from "../config/types.ts";
import { LeopardError } from "../util/errors.ts";
import { encode, enosysStub, MAX_INSNS } from "./bpf.ts";
import {
  Act,
  type ArgCmp,
  Attr,
  archToken,
  Cmp,
  type CmpOp,
  Filter,
  NR_SCMP_ERROR,
  syscallNumber,
} from "./libseccomp.ts";

export interface CompiledSeccomp {
  /** struct sock_filter[], host byte order: the SECCOMP op's `bpf`. */
  readonly bpf: Uint8Array;
  /** SECCOMP_FILTER_FLAG_* bits: the SECCOMP op's `flags`. */
  readonly flags: bigint;
  /**
   * A rule notifies (SCMP_ACT_NOTIFY): the filter is installed with a listener (the
   * SECCOMP_LISTENER op), whose fd goes to the seccomp agent at linux.seccomp.listenerPath.
   */
  readonly listener: boolean;
}

/** seccomp(2) flag bits (linux/seccomp.h). */
export const FILTER_FLAG: Readonly<Record<SeccompFlag, bigint>> = {
  SECCOMP_FILTER_FLAG_TSYNC: 1n,
  SECCOMP_FILTER_FLAG_LOG: 2n,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4n,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 32n,
};
/** The kernel refuses TSYNC with a listener unless a failed sync is reported as ESRCH instead. */
const FILTER_FLAG_TSYNC_ESRCH = 16n;

const EPERM = 1;
const ENOSYS = 38;

const OPS: Readonly<Record<SeccompOperator, CmpOp>> = {
  SCMP_CMP_NE: Cmp.NE,
  SCMP_CMP_LT: Cmp.LT,
  SCMP_CMP_LE: Cmp.LE,
  SCMP_CMP_EQ: Cmp.EQ,
  SCMP_CMP_GE: Cmp.GE,
  SCMP_CMP_GT: Cmp.GT,
  SCMP_CMP_MASKED_EQ: Cmp.MASKED_EQ,
};

/** libseccomp's value for an OCI action; errno defaults to EPERM, as in runc. */
export function actionValue(action: SeccompAction, errnoRet: number | undefined, where: string): number {
  if (errnoRet !== undefined && errnoRet > 0xffff) {
    throw new LeopardError("invalid-spec", `${where}: errnoRet ${errnoRet} is above 65535`);
  }
  switch (action) {
    case "SCMP_ACT_KILL":
    case "SCMP_ACT_KILL_THREAD":
      return Act.KILL_THREAD;
    case "SCMP_ACT_KILL_PROCESS":
      return Act.KILL_PROCESS;
    case "SCMP_ACT_TRAP":
      return Act.TRAP;
    case "SCMP_ACT_ERRNO":
      return Act.errno(errnoRet ?? EPERM);
    case "SCMP_ACT_TRACE":
      return Act.trace(errnoRet ?? EPERM);
    case "SCMP_ACT_ALLOW":
      return Act.ALLOW;
    case "SCMP_ACT_LOG":
      return Act.LOG;
    case "SCMP_ACT_NOTIFY":
      // The filter then gets a listener, which the runtime sends to linux.seccomp.listenerPath.
      return Act.NOTIFY;
  }
}

/** libseccomp's name for an OCI architecture: SCMP_ARCH_X86_64 → "x86_64". */
export function archName(arch: SeccompArch): string {
  return arch.slice("SCMP_ARCH_".length).toLowerCase();
}

/** The listed architectures' tokens, each once (libseccomp adds the native one itself). */
function resolveArches(arches: readonly SeccompArch[]): number[] {
  const listed: number[] = [];
  for (const a of arches) {
    const token = archToken(archName(a));
    if (token === 0) {
      throw new LeopardError(
        "invalid-spec",
        `linux.seccomp.architectures: "${a}" is not supported by this host's libseccomp`,
      );
    }
    if (!listed.includes(token)) listed.push(token);
  }
  return listed;
}

/** Conditions as libseccomp rules: one rule, or one per condition when an argument repeats. */
export function conditionGroups(args: SpecSeccomp["syscalls"][number]["args"]): ArgCmp[][] {
  const cmps: ArgCmp[] = args.map((a) => ({ arg: a.index, op: OPS[a.op], a: a.value, b: a.valueTwo }));
  if (cmps.length === 0) return [[]];
  const repeats = new Set(cmps.map((c) => c.arg)).size < cmps.length;
  return repeats ? cmps.map((c) => [c]) : [cmps];
}

function isAllowLike(action: SeccompAction): boolean {
  return action === "SCMP_ACT_ALLOW" || action === "SCMP_ACT_LOG" || action === "SCMP_ACT_TRACE";
}

/** Compiles a validated seccomp section. Throws LeopardError with a one-sentence message. */
export function compileSeccomp(s: SpecSeccomp): CompiledSeccomp {
  const defaultAction = actionValue(s.defaultAction, s.defaultErrnoRet, "linux.seccomp.defaultAction");
  const listed = resolveArches(s.architectures);
  const notify = s.syscalls.some((r) => r.action === "SCMP_ACT_NOTIFY");

  using filter = new Filter(defaultAction);
  // The runtime sets no_new_privs itself (before SECCOMP, when the spec asks for it).
  filter.setAttr(Attr.CTL_NNP, 0);
  for (const token of listed) filter.addArch(token);

  let added = 0;
  s.syscalls.forEach((rule, i) => {
    const where = `linux.seccomp.syscalls[${i}]`;
    const action = actionValue(rule.action, rule.errnoRet, where);
    if (action === defaultAction) return;
    const groups = conditionGroups(rule.args);
    for (const name of rule.names) {
      const nr = syscallNumber(name);
      if (nr === NR_SCMP_ERROR) continue; // unknown to this libseccomp: ignored, as runc does
      for (const cmps of groups) {
        const r = filter.addRule(action, nr, cmps);
        if (r < 0) {
          throw new LeopardError(
            "invalid-spec",
            `${where}: libseccomp refused the rule for syscall "${name}" (errno ${-r})`,
            { errno: -r },
          );
        }
      }
      added++;
    }
  });
  // A binary tree of syscalls for long profiles, as runc does past 32 syscalls (libseccomp
  // <= 2.5.4 misbehaves with it on an empty rule set, hence counting what was added).
  if (added > 32) filter.setAttr(Attr.CTL_OPTIMIZE, 2);

  let program = filter.exportBpf();
  const stubbed =
    !isAllowLike(s.defaultAction) && !(s.defaultAction === "SCMP_ACT_ERRNO" && s.defaultErrnoRet === ENOSYS);
  if (stubbed) {
    const stub = enosysStub(lastSyscalls(s, listed));
    if (stub.length > 0) program = concat(encode(stub), program);
  }
  const insns = program.length / 8;
  if (insns > MAX_INSNS) {
    throw new LeopardError(
      "invalid-spec",
      `linux.seccomp: the compiled filter has ${insns} instructions, more than the kernel's ${MAX_INSNS}`,
    );
  }

  let flags = 0n;
  for (const f of s.flags) {
    // WAIT_KILLABLE_RECV only means something with a listener; the kernel refuses it without.
    if (f === "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" && !notify) continue;
    flags |= FILTER_FLAG[f];
  }
  if (notify && (flags & FILTER_FLAG.SECCOMP_FILTER_FLAG_TSYNC) !== 0n) flags |= FILTER_FLAG_TSYNC_ESRCH;
  return { bpf: program, flags, listener: notify };
}

/** Per listed architecture, the largest syscall number the profile names (runc's rule). */
function lastSyscalls(s: SpecSeccomp, listed: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const token of listed) {
    let max = 0;
    for (const rule of s.syscalls) {
      for (const name of rule.names) {
        const nr = syscallNumber(name, token);
        if (nr > max) max = nr;
      }
    }
    if (max > 0) out.set(token, max);
  }
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
