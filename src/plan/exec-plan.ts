// exec: the ops that start one more process in a running container. Pure, like plan(): the
// caller opens the container's namespace files and names them here as /proc/self/fd/N.
//
// Order, and why:
//   sync 2 (cgroup)  the parent places the helper in the container's cgroups before anything
//                    else, so the forked process is born there (and a cgroup namespace joined
//                    next takes that cgroup as its root). Or, where create joins without a
//                    cgroup.procs write (cgroupJoin, see plan.ts and runtime/cgroup.ts), the
//                    helper writes "0" to each v1 hierarchy's `tasks` (JOIN_CGROUP) and the
//                    fork is a clone3 into the cgroup2 directory: a cgroup.procs write costs
//                    ~10-25 ms (the kernel's threadgroup lock waits out an RCU grace period).
//   SETNS user       first: it grants the capabilities the other setns calls need in
//                    namespaces the container's user namespace owns.
//   SETNS …, mnt     the rest, mount last: it changes what paths mean (the ns fds are opened
//                    through /proc/self/fd of the host's /proc).
//   FORK             pid and time namespaces apply to children only. With a clone3 into the
//                    cgroup2 directory, the cgroup and mount namespaces are joined after it, by
//                    the child: the kernel refuses CLONE_INTO_CGROUP into a cgroup outside the
//                    caller's cgroup namespace, and the helper's own cgroup is outside the
//                    container's.
//   session/pty, rlimits, seccomp (see plan.ts), credentials, cwd, fds, EXEC — no start FIFO;
//                    without no_new_privs, cwd and then seccomp come before the credentials.
import type { Op } from "../protocol/ops.ts";
import { FD, ForkMode, PtyMode, SyncTag } from "../protocol/ops.ts";
import { credentialSteps, cwdStep, finishingSteps, rlimitSteps } from "./credentials.ts";
import { withHome } from "./home.ts";
import type { ConsoleMode, PlanInput, Step } from "./plan.ts";
import { execCandidates, filterStep } from "./plan.ts";
import { procWrite } from "./proc-write.ts";
import { q } from "./shell.ts";
import { CLONE, type NamespaceType, type PlanSpec } from "./types.ts";

export interface ExecPlanInput {
  process: PlanSpec["process"];
  /** false for a user calling the runtime rootless: no setgroups (credentials.ts setgroupsAllowed). */
  setgroups?: boolean | undefined;
  /** The runtime is rootless (src/state/rootless.ts). */
  rootless?: boolean | undefined;
  /** The namespaces to join, as paths the helper can open (fds the parent opened and passed). */
  namespaces: readonly { type: NamespaceType; path: string }[];
  /** detached: the helper reports the pid and leaves; foreground: it waits and relays the exit status. */
  mode: "detached" | "foreground";
  console: ConsoleMode;
  preserveFds: number;
  capLast: number;
  /** The caller's open-file limit, put back when the process sets none (see PlanInput). */
  inheritedNofile?: { soft: bigint; hard: bigint } | undefined;
  /** The container's compiled seccomp filter, when its config has one (see PlanInput). */
  seccomp?: PlanInput["seccomp"];
  /** AppArmor/SELinux attr writes for execve (src/runtime/lsm.ts), as for init. */
  lsmExec?: readonly { path: string; data: string }[] | undefined;
  /** The container's process.oomScoreAdj: runc gives exec'd processes the container's score too. */
  oomScoreAdj?: number | undefined;
  /** The user's home in the container's /etc/passwd: HOME when the process has none (see PlanInput). */
  home?: string | undefined;
  /** The container's cgroup as fds to join by, instead of sync 2 (PlanInput.cgroupJoin). */
  cgroupJoin?: { tasks: readonly number[]; unified?: number | undefined } | undefined;
}

/** setns order after the user namespace; mount is last (it changes what /proc/self means). */
const JOIN_ORDER: readonly NamespaceType[] = ["ipc", "uts", "network", "pid", "cgroup", "time", "mount"];

const nsFlag = (t: NamespaceType): string => (t === "network" ? "net" : t);

const PR_SET_DUMPABLE = 4;

export function planExec(input: ExecPlanInput): Step[] {
  const steps: Step[] = [];
  const add = (op: Op, explain: string): void => {
    steps.push({ op, explain });
  };
  add(
    { op: "SET_NAME", name: "leopard:[1:EXEC]" },
    "# stage 1: join the container (ps shows leopard:[1:EXEC])",
  );
  // As for init: while still root of the host's user namespace (lowering it needs CAP_SYS_RESOURCE there).
  if (input.oomScoreAdj !== undefined) {
    // Rootless, /proc/self of a non-dumpable process is root's: dumpable for the write only.
    const dumpable = (arg: number): Step => ({
      op: { op: "PRCTL", option: PR_SET_DUMPABLE, arg },
      explain: arg ? "# dumpable for the write" : "# not dumpable again",
    });
    if (input.rootless) steps.push(dumpable(1));
    steps.push(procWrite("self/oom_score_adj", String(input.oomScoreAdj)));
    if (input.rootless) steps.push(dumpable(0));
  }
  const join = input.cgroupJoin;
  if (join === undefined)
    add(
      { op: "SYNC", tag: SyncTag.CGROUP },
      "echo $PID > <the container's cgroup>/cgroup.procs   # sync 2: the parent places us in the container's cgroups",
    );
  else
    for (const fd of join.tasks)
      add(
        { op: "JOIN_CGROUP", fd },
        `echo 0 > /proc/self/fd/${fd}   # this thread into the container's cgroup of one v1 hierarchy (its tasks file)`,
      );
  const byType = new Map(input.namespaces.map((n) => [n.type, n.path]));
  const into = join?.unified;
  // With a clone3 into the cgroup2 directory, the child joins these two itself (see the top).
  const afterFork: readonly NamespaceType[] = into === undefined ? [] : ["cgroup", "mount"];
  const setns = (t: NamespaceType): void => {
    const path = byType.get(t);
    if (path !== undefined) add({ op: "SETNS", path, nstype: CLONE[t] }, `nsenter --${nsFlag(t)}=${q(path)}`);
  };
  for (const t of ["user", ...JOIN_ORDER] as const) if (!afterFork.includes(t)) setns(t);
  add(
    {
      op: "FORK_PID1",
      mode: input.mode === "detached" ? ForkMode.DETACH : ForkMode.WAIT,
      cgroup: into ?? FD.NONE,
    },
    (into === undefined ? "fork" : `clone3 --into-cgroup=/proc/self/fd/${into}`) +
      (input.mode === "detached"
        ? "   # the child is in the container's PID namespace; the parent reports its pid and exits"
        : "   # the child is in the container's PID namespace; the parent waits and returns its status"),
  );
  for (const t of afterFork) setns(t);
  add({ op: "SET_NAME", name: "leopard:[2:EXEC]" }, "# stage 2: the process (ps shows leopard:[2:EXEC])");
  for (const step of processSteps(input)) steps.push(step);
  return steps;
}

/**
 * The process's own setup after the namespaces: terminal or session, rlimits, seccomp,
 * credentials, umask, cwd, no_new_privs, fds, then EXEC. The same order as plan() uses for
 * init, without the start FIFO.
 */
function processSteps(input: ExecPlanInput): Step[] {
  const steps: Step[] = [];
  const add = (op: Op, explain: string): void => {
    steps.push({ op, explain });
  };
  const proc = input.process;
  if (input.console.kind === "socket")
    add(
      { op: "CONSOLE_FD", fd: input.console.fd },
      `# the console socket ${q(input.console.path)}, connected by the parent`,
    );
  if (proc.terminal && input.console.kind !== "none") {
    add(
      { op: "PTY", mode: input.console.kind === "sync" ? PtyMode.SYNC : PtyMode.CONSOLE },
      "# open /dev/ptmx, send the master to the caller, make the slave stdin/stdout/stderr and the controlling terminal",
    );
    if (input.console.kind === "sync")
      add(
        { op: "SYNC", tag: SyncTag.TERMINAL },
        "# sync 3: the caller sets the window size before the process looks",
      );
  } else {
    add({ op: "SETSID" }, "setsid");
  }
  steps.push(...rlimitSteps(proc, input.inheritedNofile));
  // Seccomp as in plan(): last with no_new_privs, else before the capabilities are dropped.
  // (With a listener the fd goes over the sync socket, which exec reads until execve.)
  const seccompStep = filterStep(input.seccomp);
  // The working directory is entered and checked before the filter either way (see plan.ts).
  const early = seccompStep !== undefined && !proc.noNewPrivileges;
  if (early) steps.push(cwdStep(proc), seccompStep);
  steps.push(...credentialSteps(proc, input.capLast, input.setgroups !== false));
  steps.push(...finishingSteps(proc, input.preserveFds, early));
  for (const attr of input.lsmExec ?? []) steps.push(procWrite(attr.path, attr.data));
  if (seccompStep && proc.noNewPrivileges) steps.push(seccompStep);
  const env = withHome(proc.env ?? [], input.home);
  add(
    { op: "EXEC", candidates: execCandidates(proc.args[0] ?? "", env), argv: proc.args, env },
    `exec ${proc.args.map(q).join(" ")}`,
  );
  return steps;
}

type Caps = NonNullable<PlanSpec["process"]["capabilities"]>;

/**
 * The capabilities of an exec'd process. `--cap` adds to bounding, effective and permitted;
 * inheritable is never widened beyond the container's own (CVE-2022-29162: an inheritable
 * capability survives execve of a file with matching file capabilities).
 */
export function execCapabilities(
  container: Caps | undefined,
  asked: Caps | undefined,
  added: readonly string[],
): Caps {
  const base = asked ?? container ?? {};
  const plus = (set: readonly string[] | undefined): string[] => [...new Set([...(set ?? []), ...added])];
  const allowed = new Set(container?.inheritable ?? []);
  const inheritable = (base.inheritable ?? []).filter((c) => allowed.has(c));
  return {
    bounding: plus(base.bounding),
    effective: plus(base.effective),
    permitted: plus(base.permitted),
    inheritable,
    ambient: [...(base.ambient ?? [])],
  };
}
