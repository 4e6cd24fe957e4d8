// exec: one more process in a running container. The helper joins the container's namespaces
// through fds this process opened (user first, mount last), forks into its PID namespace and
// runs the process's own setup, then execve. Foreground: wait and return its exit status.

import { SpecError } from "../config/errors.ts";
import { loadSpec } from "../config/load.ts";
import type { NamespaceType, Spec, SpecProcess } from "../config/types.ts";
import { validateSpec } from "../config/validate.ts";
import { readProcess } from "../config/validate-process.ts";
import { execCapabilities, planExec } from "../plan/exec-plan.ts";
import type { ConsoleMode } from "../plan/plan.ts";
import type { PlanSpec } from "../plan/types.ts";
import { callerIdentity, rootlessMode } from "../state/rootless.ts";
import { isAlive, OCI_VERSION, type StateDir, type StoredState } from "../state/state.ts";
import { writeFileAtomic } from "../sys/fs.ts";
import { existsSync, openSync, readFileSync, readlinkSync } from "../sys/fs-sync.ts";
import { capLastCap } from "../sys/proc.ts";
import { getRlimit, RLIMIT_NOFILE } from "../sys/rlimit.ts";
import { describe, LeopardError } from "../util/errors.ts";
import { resolve } from "../util/path.ts";
import { explainPlan } from "./explain.ts";
import { connectConsole, HelperSession } from "./helper-session.ts";
import { execHome } from "./home.ts";
import { lsmHost, planLsm } from "./lsm.ts";
import { isFrozen } from "./paused.ts";
import { containerProcessState, SeccompAgent } from "./seccomp-listener.ts";
import { waitForeground } from "./terminal.ts";

/** What the inline form of `exec` sets on top of the container's process. */
export interface InlineProcess {
  args: readonly string[];
  tty?: boolean | undefined;
  cwd?: string | undefined;
  env?: readonly string[] | undefined;
  /** "uid[:gid]" */
  user?: string | undefined;
  additionalGids?: readonly number[] | undefined;
  caps?: readonly string[] | undefined;
  noNewPrivs?: boolean | undefined;
  apparmor?: string | undefined;
  processLabel?: string | undefined;
}

export interface ExecOptions {
  id: string;
  state: StateDir;
  /** --process FILE: the whole process, as in config.json's `process`. */
  processFile?: string | undefined;
  inline?: InlineProcess | undefined;
  detach?: boolean | undefined;
  pidFile?: string | undefined;
  consoleSocket?: string | undefined;
  preserveFds?: number | undefined;
  ignorePaused?: boolean | undefined;
  /** The process gets /dev/null for stdin, stdout and stderr (the engine's `exec -d`). */
  nullStdio?: boolean | undefined;
  explain?: ((text: string) => void) | undefined;
}

const NS_FILE: Readonly<Record<NamespaceType, string>> = {
  pid: "pid",
  network: "net",
  mount: "mnt",
  ipc: "ipc",
  uts: "uts",
  user: "user",
  cgroup: "cgroup",
  time: "time",
};

/** The container's config as it was at create (a copy in the state dir), else the bundle's. */
export function containerSpec(state: StateDir, s: StoredState): Spec {
  const copy = `${state.dir(s.id)}/config.json`;
  if (!existsSync(copy)) return loadSpec(s.bundle);
  return validateSpec(JSON.parse(readFileSync(copy, "utf8")), { bundle: s.bundle });
}

/** The process to run: --process FILE as written, or the container's process with the inline flags applied. */
export function execProcess(spec: Spec, opts: Pick<ExecOptions, "processFile" | "inline">): SpecProcess {
  if (opts.processFile !== undefined) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(resolve(opts.processFile), "utf8"));
    } catch (e) {
      throw new LeopardError("invalid-argument", `--process "${opts.processFile}": ${describe(e)}`, {
        cause: e,
      });
    }
    const p = readProcess(raw, "process");
    // Never more inheritable capabilities than the container has (CVE-2022-29162).
    return {
      ...p,
      capabilities: execCapabilities(
        spec.process.capabilities,
        p.capabilities,
        [],
      ) as SpecProcess["capabilities"],
    };
  }
  const i = opts.inline;
  if (!i || i.args.length === 0)
    throw new LeopardError("invalid-argument", "exec needs a command, or --process FILE");
  const base = spec.process;
  let { uid, gid } = base.user;
  if (i.user !== undefined) {
    const [u, g, extra] = i.user.split(":");
    const num = (v: string | undefined): number => {
      const n = Number(v);
      if (v === undefined || v === "" || !Number.isInteger(n) || n < 0 || n > 0xffffffff)
        throw new LeopardError("invalid-argument", `--user "${i.user}" must be uid[:gid], numbers`);
      return n;
    };
    if (extra !== undefined) num(undefined);
    uid = num(u);
    if (g !== undefined) gid = num(g);
  }
  if (i.cwd !== undefined && !i.cwd.startsWith("/"))
    throw new LeopardError("invalid-argument", `--cwd "${i.cwd}" must be an absolute path`);
  for (const e of i.env ?? [])
    if (e.indexOf("=") < 1) throw new LeopardError("invalid-argument", `--env "${e}" must be KEY=value`);
  return {
    ...base,
    args: [...i.args],
    terminal: i.tty === true,
    cwd: i.cwd ?? base.cwd,
    env: mergeEnv(base.env, i.env ?? []),
    user: {
      ...base.user,
      uid,
      gid,
      additionalGids: i.additionalGids ?? base.user.additionalGids,
    },
    capabilities: execCapabilities(base.capabilities, undefined, i.caps ?? []) as SpecProcess["capabilities"],
    noNewPrivileges: base.noNewPrivileges || i.noNewPrivs === true,
    apparmorProfile: i.apparmor ?? base.apparmorProfile,
    selinuxLabel: i.processLabel ?? base.selinuxLabel,
  };
}

/** KEY=value lists: a later entry replaces an earlier one with the same key, in place. */
export function mergeEnv(base: readonly string[], added: readonly string[]): string[] {
  const out: string[] = [];
  const at = new Map<string, number>();
  for (const e of [...base, ...added]) {
    const k = e.slice(0, Math.max(e.indexOf("="), 0));
    const i = at.get(k);
    if (i === undefined) {
      at.set(k, out.length);
      out.push(e);
    } else out[i] = e;
  }
  return out;
}

const O_RDONLY = 0;
const O_WRONLY = 1;
const O_DIRECTORY = 0o200000;
const O_CLOEXEC = 0o2000000;

/** sync 2, exec side: the container's cgroups, reopened from the state. */
function enterContainerCgroups(s: StoredState, pid: number): void {
  if (s.cgroupPaths === undefined) return; // created before cgroups were wired, or none
  const { reopenCgroup } = require("./cgroup.ts") as typeof import("./cgroup.ts");
  reopenCgroup(s.cgroupPaths)?.apply(pid);
}

/** Returns the exit status `leopard-oci exec` should exit with. */
export async function exec(opts: ExecOptions): Promise<number> {
  const s = opts.state.read(opts.id);
  let status = opts.state.status(s);
  if (status === "running" && isFrozen(s.cgroupPaths)) status = "paused";
  if (status === "stopped" || status === "creating" || s.pid === 0)
    throw new LeopardError("bad-state", "cannot exec in a stopped container");
  // With --ignore-paused the helper joins the frozen cgroup at sync 2 and stops there: the
  // process starts (and exec returns) once the container is resumed.
  if (status === "paused" && !opts.ignorePaused)
    throw new LeopardError(
      "bad-state",
      "cannot exec in a paused container (use --ignore-paused to override)",
    );
  let spec: Spec;
  try {
    spec = containerSpec(opts.state, s);
  } catch (e) {
    if (e instanceof SpecError)
      throw new LeopardError("invalid-spec", `container config: ${e.message}`, { cause: e });
    throw e;
  }
  const proc = execProcess(spec, opts);
  // AppArmor/SELinux as for init: refused when the host lacks them, else set for execve.
  const lsm = planLsm({ apparmorProfile: proc.apparmorProfile, selinuxLabel: proc.selinuxLabel }, lsmHost());
  if (proc.terminal && opts.detach && !opts.consoleSocket)
    throw new LeopardError(
      "invalid-argument",
      "cannot allocate a terminal for a detached exec without --console-socket",
    );
  if (!proc.terminal && opts.consoleSocket)
    throw new LeopardError(
      "invalid-argument",
      "--console-socket is only for a process with a terminal (--tty)",
    );

  const preserveFds = opts.preserveFds ?? 0;
  // The helper's fds: 0-2, the preserved ones, the sync socket, then the console socket and the
  // namespaces, numbered as the session hands them out.
  using session = new HelperSession({
    preserveFds,
    stdio: opts.nullStdio ? "ignore" : "inherit",
    untimedAfterPid: true,
    what: "the process",
  });
  const consolePath = proc.terminal && opts.consoleSocket ? resolve(opts.consoleSocket) : undefined;
  const consoleSlot = consolePath === undefined ? undefined : session.reserve();
  // The namespace files, opened here as host root: the helper joins them through its fds,
  // so neither a recycled pid nor the container's own /proc can change what it joins.
  const namespaces: { type: NamespaceType; path: string }[] = [];
  for (const ns of spec.linux.namespaces) {
    const file = NS_FILE[ns.type];
    let target: string;
    try {
      target = readlinkSync(`/proc/${s.pid}/ns/${file}`);
    } catch {
      continue; // the kernel has no such namespace (time before 5.6): nothing to join
    }
    if (target === readlinkSync(`/proc/self/ns/${file}`)) continue; // shared with the host
    const fd = session.add(openSync(`/proc/${s.pid}/ns/${file}`, "r"));
    namespaces.push({ type: ns.type, path: `/proc/self/fd/${fd}` });
  }
  if (!isAlive(s.pid, s.pidStartTime))
    throw new LeopardError("bad-state", "cannot exec in a stopped container");
  let consoleMode: ConsoleMode = proc.terminal ? { kind: "sync" } : { kind: "none" };
  if (consolePath !== undefined && consoleSlot !== undefined) {
    consoleSlot.fill(connectConsole(consolePath));
    consoleMode = { kind: "socket", path: consolePath, fd: consoleSlot.number };
  }
  // The container's cgroup joined by fds (no cgroup.procs write), where create would too; not
  // while paused: there sync 2 stops the helper in the frozen cgroup until the container resumes.
  const who = callerIdentity();
  const joinFiles =
    status === "paused" || s.cgroupPaths === undefined || Object.keys(s.cgroupPaths).length === 0
      ? undefined
      : (require("./cgroup.ts") as typeof import("./cgroup.ts")).cgroupJoinFiles(
          spec,
          s.cgroupPaths,
          s.systemdScope !== undefined,
          who.euid !== 0 || who.inUserNamespace,
        );
  const cgroupJoin = joinFiles && {
    tasks: joinFiles.tasks.map((f) => session.add(openSync(f, O_WRONLY | O_CLOEXEC))),
    unified:
      joinFiles.unified === undefined
        ? undefined
        : session.add(openSync(joinFiles.unified, O_RDONLY | O_DIRECTORY | O_CLOEXEC)),
  };
  const seccomp = spec.linux.seccomp
    ? await import("../seccomp/cache.ts").then((c) =>
        c.compileCached(
          spec.linux.seccomp!,
          c.cacheDirFor(process.env, rootlessMode("auto", callerIdentity())),
        ),
      )
    : undefined;
  // Before the helper exists: an unreachable seccomp agent is refused with nothing started.
  using agent = SeccompAgent.connect(spec.linux.seccomp, seccomp?.listener === true);
  const steps = planExec({
    process: proc as PlanSpec["process"],
    // A user calling the runtime rootless sets no groups (runc skips setgroups there).
    // A user calling the runtime rootless sets groups only where the container's user namespace
    // allows it (a gid map written by newgidmap; a map of the user's own gid denies setgroups).
    setgroups: who.euid === 0 || setgroupsAllowedIn(s.pid),
    rootless: who.euid !== 0 || who.inUserNamespace,
    namespaces,
    mode: opts.detach ? "detached" : "foreground",
    console: consoleMode,
    preserveFds,
    capLast: capLastCap(),
    inheritedNofile: getRlimit(RLIMIT_NOFILE),
    seccomp,
    lsmExec: lsm.lsmExec,
    oomScoreAdj: proc.oomScoreAdj ?? spec.process.oomScoreAdj,
    home: execHome(proc, s.pid),
    cgroupJoin,
  });
  session.timings.phase("read the container, open its namespaces, plan");
  opts.explain?.(explainPlan(steps));
  const listenerSeccomp = spec.linux.seccomp;
  try {
    session.start(steps);
    await session.untilExec({
      // sync 2: the helper (before it joins the namespaces and forks) goes into the container's
      // cgroups, so the process is born there and counts against its limits.
      cgroup: (pid) => enterContainerCgroups(s, pid),
      // sync 5: the exec'd process's filter has a listener of its own; the agent gets it, with the
      // container's state, before the process goes on.
      seccompListener: (fd, pid) => {
        if (agent === undefined || listenerSeccomp === undefined)
          throw new LeopardError("protocol", "the helper sent a seccomp listener none was planned for");
        const ctx = {
          ociVersion: OCI_VERSION,
          id: s.id,
          status,
          initPid: s.pid,
          bundle: s.bundle,
          annotations: s.annotations,
        };
        agent.send(fd, containerProcessState(listenerSeccomp, ctx, pid));
      },
    });
  } catch (e) {
    session.kill();
    throw e;
  }
  session.timings.phase("the helper's ops, below, until the process's execve");
  opts.explain?.(session.timings.table(steps));
  if (opts.pidFile) writeFileAtomic(resolve(opts.pidFile), String(session.pid), 0o644, false);
  if (opts.detach) return 0;
  return await waitForeground(session.pid, session.helper, session.pty);
}

function setgroupsAllowedIn(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/setgroups`, "utf8").trim() === "allow";
  } catch {
    return false;
  }
}
