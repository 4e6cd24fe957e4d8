// spec → launch plan: the exact list of ops the helper runs, each with the shell command a
// person would type to do the same step. Pure: every fact about the host comes in `host`.
import type { RootfsOverlay } from "../config/rootfs-overlay.ts";
import type { Op } from "../protocol/ops.ts";
import { FD, ForkMode, MountResolve, PivotMode, PtyMode, SyncTag } from "../protocol/ops.ts";
import { LeopardError } from "../util/errors.ts";
import { SYSTEM_PATH } from "../util/system-path.ts";
import { credentialSteps, cwdStep, finishingSteps, rlimitSteps, setgroupsAllowed } from "./credentials.ts";
import { type DeviceNode, planDevices } from "./devices.ts";
import { withHome } from "./home.ts";
import { hookSteps, type PlanHooks, runtimeHookSync } from "./hooks.ts";
import { type LaunchEnv, withLaunchEnv } from "./launch-env.ts";
import { MS, parseMountOptions, propagationFlag } from "./mount-options.ts";
import { planMounts } from "./mounts.ts";
import { procWrite } from "./proc-write.ts";
import {
  capabilitiesBeyond,
  ioprioValue,
  personaValue,
  schedFlags,
  schedPolicy,
  sysctlPath,
} from "./process-attrs.ts";
import { checkRootless } from "./rootless.ts";
import { q } from "./shell.ts";
import type { HostFacts, Step } from "./step.ts";
import { CLONE, type NamespaceType, type PlanSpec } from "./types.ts";

export type { HostFacts, Step } from "./step.ts";
export type { PlanSpec } from "./types.ts";

/** prctl(2): rootless, the helper is dumpable around the steps whose /proc files its user opens. */
const PR_SET_DUMPABLE = 4;

/** Where a terminal's master goes: nowhere, to the caller over the sync socket, or to an inherited console socket fd. */
export type ConsoleMode = { kind: "none" } | { kind: "sync" } | { kind: "socket"; path: string; fd: number };

export interface PlanInput {
  spec: PlanSpec;
  id: string;
  /** Absolute host path of the root filesystem. */
  rootfs: string;
  /** Absolute host path of the start FIFO (for explanations). */
  fifo: string;
  /** The fd number under which the helper inherits an O_PATH fd of the FIFO. */
  fifoFd: number;
  /** detached: the helper leaves init behind and exits; foreground: it waits and relays the exit status. */
  mode: "detached" | "foreground";
  console: ConsoleMode;
  noPivot: boolean;
  preserveFds: number;
  host: HostFacts;
  /**
   * The open-file limit the container inherits when the config sets none. The runtime lowers its
   * own soft limit before spawning the helper (spawning closes every fd up to it), so the plan
   * puts the caller's limit back.
   */
  inheritedNofile?: { soft: bigint; hard: bigint } | undefined;
  /** linux.mountLabel for context= on the container's mounts, when the host has SELinux. */
  mountLabel?: string | undefined;
  /** The container's cgroup per hierarchy: bound into a `cgroup` mount when there is no cgroup namespace. */
  cgroupPaths?: Readonly<Record<string, string>> | undefined;
  /** Stop at sync 2 so the parent can move the helper into the container's cgroup. */
  cgroupSync?: boolean | undefined;
  /**
   * Instead of sync 2, the cgroup joined without a cgroup.procs write (~10 ms of the kernel's
   * each): fds the runtime opened of each v1 hierarchy's `tasks` file (JOIN_CGROUP: the helper
   * moves itself) and of the cgroup2 directory (FORK_PID1 makes init in it with clone3). Init's
   * cgroup namespace is then unshared by init, after the fork, so that it is rooted at the
   * container's cgroup. The runtime offers it only where it holds: no user namespace, no joined
   * cgroup namespace, cgroupfs (not systemd) cgroups.
   */
  cgroupJoin?: { tasks: readonly number[]; unified?: number | undefined } | undefined;
  /**
   * The compiled seccomp filter (src/seccomp), when the config has one. With `listener` (a rule is
   * SCMP_ACT_NOTIFY) it is installed by SECCOMP_LISTENER, which hands the listener to the parent.
   */
  seccomp?: { bpf: Uint8Array; flags: bigint; listener?: boolean | undefined } | undefined;
  /** OCI hooks: sync 4 for the parent's stages, RUN_HOOK for the container's (src/plan/hooks.ts). */
  hooks?: PlanHooks | undefined;
  /** false with --no-new-keyring: the container keeps the caller's session keyring. */
  newKeyring?: boolean | undefined;
  /**
   * An LSM label for the process after execve, when the host has that LSM: AppArmor's
   * "exec PROFILE" to thread-self/attr/apparmor/exec, or SELinux's label to thread-self/attr/exec
   * (paths beneath /proc; src/runtime/lsm.ts decides).
   */
  lsmExec?: readonly { path: string; data: string }[] | undefined;
  /**
   * For each idmapped bind mount (by index in spec.mounts, see src/plan/idmap.ts), the fd number
   * under which the helper inherits its detached, already idmapped clone.
   */
  idmapFds?: ReadonlyMap<number, number> | undefined;
  /**
   * The process user's home directory in the container's /etc/passwd ("/" when not there), read
   * by the runtime: HOME when the process's environment has none, as runc sets it.
   */
  home?: string | undefined;
  /** LISTEN_FDS and NOTIFY_SOCKET, added to the process and mounts (src/plan/launch-env.ts). */
  launch?: LaunchEnv | undefined;
  /**
   * The annotation org.leopard.rootfs.overlay, validated (src/config/rootfs-overlay.ts): the
   * root is an overlay of these directories mounted on `rootfs` in the container's namespaces.
   */
  rootfsOverlay?: RootfsOverlay | undefined;
}

export interface LaunchPlan {
  steps: Step[];
  /** Written by the parent at sync 1 to /proc/<pid>/uid_map and gid_map, when a user namespace is created. */
  idMaps: { uid: string; gid: string } | null;
  /** Things of the config the plan ignores, one line each, for stderr (as runc warns). */
  warnings?: string[];
}

function mapLines(maps: readonly { containerID: number; hostID: number; size: number }[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join("");
}

/** The executable candidates for args[0]: itself if it has a slash, else each $PATH entry. */
export function execCandidates(arg0: string, env: readonly string[]): string[] {
  if (arg0.includes("/")) return [arg0];
  const pathVar = env.findLast((e) => e.startsWith("PATH="))?.slice(5) ?? SYSTEM_PATH;
  const dirs = pathVar.split(":").map((d) => (d === "" ? "." : d));
  return dirs.map((d) => `${d.replace(/\/+$/, "")}/${arg0}`);
}

/** The step that installs a compiled filter: SECCOMP, or SECCOMP_LISTENER when a rule notifies. */
export function filterStep(filter: PlanInput["seccomp"]): Step | undefined {
  if (filter === undefined) return undefined;
  const insns = `${filter.bpf.length / 8} BPF instructions`;
  return filter.listener === true
    ? {
        op: { op: "SECCOMP_LISTENER", bpf: filter.bpf, flags: filter.flags },
        explain: `# install the seccomp filter (${insns}) with a listener; the runtime sends it to linux.seccomp.listenerPath`,
      }
    : {
        op: { op: "SECCOMP", bpf: filter.bpf, flags: filter.flags },
        explain: `# install the seccomp filter (${insns})`,
      };
}

/**
 * runc's check before waiting for start (Go's exec.LookPath over the process's PATH): a missing or
 * non-executable command fails create, not start.
 */
export function checkExecStep(args: readonly string[], env: readonly string[]): Step {
  const arg0 = args[0] ?? "";
  return {
    op: { op: "CHECK_EXEC", candidates: execCandidates(arg0, env), name: arg0 },
    explain: `command -v ${q(arg0)}   # the command must exist and be executable before start`,
  };
}

/**
 * The flags a readonly path's remount keeps from the spec mount it lies on (runc keeps nosuid,
 * nodev and noexec: /proc/sys stays nosuid,nodev,noexec under the procfs's options).
 */
function keptFlags(mounts: PlanSpec["mounts"], path: string): number {
  let best: { len: number; flags: number } | undefined;
  for (const m of mounts ?? []) {
    const d = m.destination.replace(/\/+$/, "");
    if (path !== d && !path.startsWith(`${d}/`)) continue;
    if (best !== undefined && d.length < best.len) continue;
    best = { len: d.length, flags: parseMountOptions(m.options ?? []).flags };
  }
  return (best?.flags ?? 0) & (MS.NOSUID | MS.NODEV | MS.NOEXEC);
}

/** A printf(1) format that prints s: newlines become \\n. */
const printfArg = (s: string): string => `'${s.replaceAll("'", `'\\''`).replaceAll("\n", "\\n")}'`;

export function plan(input: PlanInput): LaunchPlan {
  const { host } = input;
  const spec = withLaunchEnv(input.spec, input.launch ?? {});
  const steps: Step[] = [];
  const add = (op: Op, explain: string): void => {
    steps.push({ op, explain });
  };
  const namespaces = spec.linux?.namespaces ?? [];
  const created = new Set<NamespaceType>(namespaces.filter((n) => !n.path).map((n) => n.type));
  const joined = namespaces.filter((n): n is { type: NamespaceType; path: string } => !!n.path);
  const userns = created.has("user");
  const joinedUser = joined.find((n) => n.type === "user");
  if (host.rootless) checkRootless(spec, host.rootless, userns || !!joinedUser);

  add({ op: "SET_NAME", name: "leopard:[1:USERNS]" }, "# stage 1: namespaces (ps shows leopard:[1:USERNS])");
  const warnings: string[] = [];
  // First, while still root of the host's user namespace: lowering the score needs
  // CAP_SYS_RESOURCE there (as runc does it). Every process forked from here inherits it.
  const oom = spec.process.oomScoreAdj;
  if (oom !== undefined) {
    // Rootless, /proc/self of a non-dumpable process is root's: dumpable for the write only.
    if (host.rootless) add({ op: "PRCTL", option: PR_SET_DUMPABLE, arg: 1 }, "# dumpable for the write");
    steps.push(procWrite("self/oom_score_adj", String(oom)));
    if (host.rootless) add({ op: "PRCTL", option: PR_SET_DUMPABLE, arg: 0 }, "# not dumpable again");
  }

  // The user namespace comes first: every other namespace is then owned by it, and joining
  // one (setns) needs the capabilities the user namespace grants.
  let idMaps: LaunchPlan["idMaps"] = null;
  if (joinedUser) {
    add({ op: "SETNS", path: joinedUser.path, nstype: CLONE.user }, `nsenter --user=${q(joinedUser.path)}`);
  }
  if (userns) {
    idMaps = { uid: mapLines(spec.linux?.uidMappings ?? []), gid: mapLines(spec.linux?.gidMappings ?? []) };
    add({ op: "UNSHARE", flags: CLONE.user }, "unshare --user");
    // Rootless, the parent is no more privileged than we are: /proc/<pid>/uid_map of a
    // non-dumpable process is root's, so the helper is dumpable only while the maps are written
    // (as runc's nsexec does). Nothing of the container runs yet; only our own user could look.
    if (host.rootless)
      add({ op: "PRCTL", option: PR_SET_DUMPABLE, arg: 1 }, "# dumpable while the parent writes the maps");
    add(
      { op: "SYNC", tag: SyncTag.ID_MAPS },
      `printf ${printfArg(idMaps.uid)} > /proc/$PID/uid_map; printf ${printfArg(idMaps.gid)} > /proc/$PID/gid_map   # sync 1: the parent writes the id maps`,
    );
    if (host.rootless) add({ op: "PRCTL", option: PR_SET_DUMPABLE, arg: 0 }, "# not dumpable again");
    add(
      { op: "SETID", uid: 0, gid: 0 },
      "# become root of the new user namespace (setresgid 0, setresuid 0)",
    );
  }
  // A joined mount namespace last: the other paths (/proc/PID/ns/...) are the caller's, and after
  // it every path resolves in that namespace (the rootfs and the bind sources too, as in runc).
  const joinOrder = [...joined].sort((a, b) => Number(a.type === "mount") - Number(b.type === "mount"));
  for (const ns of joinOrder) {
    if (ns.type === "user") continue;
    add(
      { op: "SETNS", path: ns.path, nstype: CLONE[ns.type] },
      `nsenter --${ns.type === "network" ? "net" : ns.type}=${q(ns.path)}`,
    );
  }
  // The root is a FUSE mount made in another mount namespace (src/config/rootfs-overlay.ts): the
  // new one is a copy of that one. Joined after the user namespace, which owns it.
  const mountedIn = input.rootfsOverlay?.mountedIn;
  if (mountedIn !== undefined) {
    if (!created.has("mount"))
      throw new LeopardError(
        "invalid-spec",
        'annotation "org.leopard.rootfs.mountns" needs a mount namespace the container creates',
      );
    add(
      { op: "SETNS", path: mountedIn, nstype: CLONE.mount },
      `nsenter --mount=${q(mountedIn)}   # where the root's FUSE mount is; the container's mount namespace is a copy of it`,
    );
  }
  let flags = 0;
  const names: string[] = [];
  for (const t of ["mount", "uts", "ipc", "network", "pid", "cgroup", "time"] as const) {
    if (!created.has(t)) continue;
    flags |= CLONE[t];
    names.push(`--${t === "network" ? "net" : t}`);
  }
  const join = input.cgroupJoin;
  // Joined at the fork (clone3 into the cgroup2 directory): init unshares its cgroup namespace.
  const cgroupnsInInit = join?.unified !== undefined && created.has("cgroup");
  if (cgroupnsInInit) {
    flags &= ~CLONE.cgroup;
    names.splice(names.indexOf("--cgroup"), 1);
  }
  if (join) {
    for (const fd of join.tasks)
      add(
        { op: "JOIN_CGROUP", fd },
        `echo 0 > /proc/self/fd/${fd}   # this thread into the container's cgroup of one v1 hierarchy (its tasks file)`,
      );
  } else if (input.cgroupSync) {
    add(
      { op: "SYNC", tag: SyncTag.CGROUP },
      "echo $PID > /sys/fs/cgroup/<controller>/<cgroupsPath>/cgroup.procs   # sync 2: join the container's cgroup (before the cgroup namespace)",
    );
  }
  if (flags !== 0) add({ op: "UNSHARE", flags }, `unshare ${names.join(" ")}`);
  const offsets = spec.linux?.timeOffsets;
  if (created.has("time") && offsets) {
    const lines = (["monotonic", "boottime"] as const)
      .filter((k) => offsets[k] !== undefined)
      .map((k) => `${k} ${offsets[k]?.secs ?? 0} ${offsets[k]?.nanosecs ?? 0}\n`)
      .join("");
    if (lines)
      steps.push(
        procWrite("self/timens_offsets", lines, `printf ${printfArg(lines)} > /proc/self/timens_offsets`),
      );
  }
  const into = join?.unified;
  add(
    {
      op: "FORK_PID1",
      mode: input.mode === "detached" ? ForkMode.DETACH : ForkMode.WAIT,
      cgroup: into ?? FD.NONE,
    },
    (into === undefined ? "fork" : `clone3 --into-cgroup=/proc/self/fd/${into}`) +
      (input.mode === "detached"
        ? "   # the child is PID 1 of the new PID namespace; the parent reports its pid and exits"
        : "   # the child is PID 1 of the new PID namespace; the parent waits for it and returns its status"),
  );
  add(
    { op: "SET_NAME", name: "leopard:[2:INIT]" },
    "# stage 2: the container's init (ps shows leopard:[2:INIT])",
  );
  if (cgroupnsInInit)
    add({ op: "UNSHARE", flags: CLONE.cgroup }, "unshare --cgroup   # rooted at the cgroup init was made in");
  if (input.newKeyring !== false) {
    // A keyring of its own, so the container cannot read the caller's keys (runc names it after the id).
    add({ op: "KEYRING", name: input.id }, `keyctl session ${q(input.id)}`);
  }

  // Root filesystem: mounts, devices, then pivot_root.
  const devices: DeviceNode[] = planDevices(spec, userns || !!joinedUser);
  for (const step of planMounts({
    spec,
    rootfs: input.rootfs,
    userns: userns || !!joinedUser,
    rootless: host.rootless !== undefined,
    created,
    host,
    devices,
    cgroupPaths: input.cgroupPaths,
    mountLabel: input.mountLabel,
    idmapFds: input.idmapFds,
    rootfsOverlay: input.rootfsOverlay,
  })) {
    steps.push(step);
  }
  // Hooks before pivot_root: the parent's stages (runtime namespace) at sync 4, then
  // createContainer in the container's namespaces while the host's paths still resolve.
  if (input.hooks?.runtime) {
    // Rootless, a hook runs as the same unprivileged user: init's /proc/<pid>/ns/* (what a
    // hook such as slirp4netns joins) is reachable only while init is dumpable.
    if (host.rootless)
      add({ op: "PRCTL", option: PR_SET_DUMPABLE, arg: 1 }, "# dumpable while the runtime's hooks run");
    steps.push(runtimeHookSync());
    if (host.rootless) add({ op: "PRCTL", option: PR_SET_DUMPABLE, arg: 0 }, "# not dumpable again");
  }
  if (input.hooks)
    steps.push(...hookSteps("createContainer", input.hooks.createContainer, input.hooks.creating));
  add(
    { op: "OPEN_FIFO", path: `/proc/self/fd/${input.fifoFd}` },
    `exec 9<>${q(input.fifo)}   # hold the start FIFO before the host's files disappear`,
  );
  if (input.console.kind === "socket") {
    add(
      { op: "CONSOLE_FD", fd: input.console.fd },
      `# the console socket ${q(input.console.path)}, connected by the parent`,
    );
  }
  if (input.noPivot) {
    add(
      { op: "PIVOT_ROOT", mode: PivotMode.CHROOT },
      `cd ${q(input.rootfs)} && mount --move . / && chroot .`,
    );
  } else {
    add(
      { op: "PIVOT_ROOT", mode: PivotMode.PIVOT },
      `cd ${q(input.rootfs)} && pivot_root . . && umount -l .   # the old root is detached, no trace left`,
    );
  }
  // Sysctls go through the container's own /proc, after pivot_root (so only its namespaces'
  // values are reachable) and before readonlyPaths makes /proc/sys read-only. The path is built
  // from the key's validated components only.
  for (const [key, value] of Object.entries(spec.linux?.sysctl ?? {}))
    steps.push(procWrite(sysctlPath(key), value));
  for (const path of spec.linux?.readonlyPaths ?? []) {
    add(
      {
        op: "MOUNT",
        source: path,
        target: path,
        fstype: "",
        flags: MS.BIND | MS.REC,
        data: "",
        resolve: MountResolve.IF_EXISTS,
      },
      `mount --rbind ${q(path)} ${q(path)}`,
    );
    const kept = keptFlags(spec.mounts, path);
    const names = [
      [MS.NOSUID, ",nosuid"],
      [MS.NODEV, ",nodev"],
      [MS.NOEXEC, ",noexec"],
    ] as const;
    add(
      {
        op: "MOUNT",
        source: "",
        target: path,
        fstype: "",
        flags: MS.BIND | MS.REC | MS.REMOUNT | MS.RDONLY | kept,
        data: "",
        resolve: MountResolve.IF_EXISTS,
      },
      `mount -o remount,bind,ro${names.map(([f, n]) => (kept & f ? n : "")).join("")} ${q(path)}`,
    );
  }
  for (const path of spec.linux?.maskedPaths ?? []) {
    add({ op: "MASK", path }, `mount --bind /dev/null ${q(path)}   # or a read-only tmpfs for a directory`);
  }
  const prop = spec.linux?.rootfsPropagation;
  const rootProp = prop === undefined ? undefined : propagationFlag(prop);
  if (rootProp !== undefined && rootProp & MS.UNBINDABLE) {
    // Unbindable: applied once the new root is in place (src/plan/mounts.ts says why).
    add(
      {
        op: "MOUNT",
        source: "",
        target: "/",
        fstype: "",
        flags: rootProp,
        data: "",
        resolve: MountResolve.AS_GIVEN,
      },
      `mount --make-${prop} /`,
    );
  }
  if (spec.root.readonly) {
    add(
      {
        op: "MOUNT",
        source: "",
        target: "/",
        fstype: "",
        flags: MS.BIND | MS.REMOUNT | MS.RDONLY,
        data: "",
        resolve: MountResolve.AS_GIVEN,
      },
      "mount -o remount,bind,ro /",
    );
  }

  if (spec.hostname !== undefined)
    add({ op: "SETHOSTNAME", name: spec.hostname }, `hostname ${q(spec.hostname)}`);
  if (spec.domainname !== undefined) {
    add({ op: "SETDOMAINNAME", name: spec.domainname }, `domainname ${q(spec.domainname)}`);
  }

  const proc = spec.process;
  // Process attributes that need privilege (realtime policies, the RT I/O class): before
  // capabilities are dropped, and before seccomp (the default profile restricts personality).
  const persona = spec.linux?.personality;
  if (persona) {
    const { persona: value, unknown } = personaValue(persona);
    if (unknown.length > 0)
      warnings.push(`personality flags unknown to leopard are ignored: ${unknown.join(", ")}`);
    add(
      { op: "PERSONALITY", persona: value },
      persona.domain === "LINUX32"
        ? "linux32   # personality(PER_LINUX32)"
        : `# personality(0x${value.toString(16)})`,
    );
  }
  const io = proc.ioPriority;
  if (io) {
    add(
      { op: "IOPRIO", prio: ioprioValue(io) },
      `ionice -c ${io.class === "IOPRIO_CLASS_RT" ? 1 : io.class === "IOPRIO_CLASS_BE" ? 2 : 3} -n ${io.priority} -p $$`,
    );
  }
  const sched = proc.scheduler;
  if (sched) {
    add(
      {
        op: "SCHED",
        policy: schedPolicy(sched.policy),
        flags: schedFlags(sched.flags),
        nice: sched.nice < 0 ? 2 ** 32 + sched.nice : sched.nice,
        priority: sched.priority,
        runtime: sched.runtime,
        deadline: sched.deadline,
        period: sched.period,
      },
      `# sched_setattr: ${sched.policy}, nice ${sched.nice}, priority ${sched.priority}`,
    );
  }
  if (proc.terminal && input.console.kind !== "none") {
    add(
      { op: "PTY", mode: input.console.kind === "sync" ? PtyMode.SYNC : PtyMode.CONSOLE },
      "# open /dev/ptmx, send the master to the caller, make the slave stdin/stdout/stderr and the controlling terminal",
    );
    // runc binds the pty on /dev/console (created as an empty file), which stays 136:N.
    add(
      {
        op: "MOUNT",
        source: "/proc/self/fd/0",
        target: "/dev/console",
        fstype: "",
        flags: MS.BIND,
        data: "",
        resolve: MountResolve.FILE,
      },
      "touch /dev/console && mount --bind $(tty) /dev/console",
    );
  } else {
    add({ op: "SETSID" }, "setsid");
  }
  steps.push(...rlimitSteps(proc, input.inheritedNofile));

  // Seccomp goes as late as it can. With no_new_privs it is the very last step before execve;
  // without, installing a filter needs CAP_SYS_ADMIN, so it must precede dropping capabilities
  // (as runc does) and the filter must allow the credential calls that follow. Either way the
  // working directory is entered and checked before the filter (a profile may deny getcwd):
  // without no_new_privs that is as the container's root, before the credentials, as runc's
  // first chdir attempt.
  // A filter with a listener goes on, with no_new_privs, before the start FIFO instead: its fd
  // travels over the sync socket, which a detached create stops reading once init is ready.
  const seccompStep = filterStep(input.seccomp);
  const early = seccompStep !== undefined && !proc.noNewPrivileges;
  if (early) steps.push(cwdStep(proc), seccompStep);

  const caps = proc.capabilities;
  const last = host.capLast;
  const beyond = capabilitiesBeyond(caps, last);
  if (beyond.length > 0)
    warnings.push(
      `capabilities unknown to the running kernel (cap_last_cap ${last}) are ignored: ${beyond.join(", ")}`,
    );
  steps.push(...credentialSteps(proc, last, setgroupsAllowed(host, spec)));
  steps.push(...finishingSteps(proc, input.preserveFds, early));
  const env = withHome(proc.env ?? [], input.home);
  steps.push(checkExecStep(proc.args, env));
  const listenerLate = seccompStep !== undefined && !early && input.seccomp?.listener === true;
  if (listenerLate) steps.push(seccompStep);
  add(
    { op: "WAIT_START" },
    input.mode === "detached"
      ? "# created: wait on the start FIFO for `leopard-oci start`"
      : "# wait on the start FIFO",
  );
  // startContainer: after start, in the container, as the container's user, before execve.
  if (input.hooks)
    steps.push(...hookSteps("startContainer", input.hooks.startContainer, input.hooks.created));
  // The LSM label for execve is set last but for seccomp: the attr write is a syscall a
  // profile may deny.
  for (const attr of input.lsmExec ?? []) steps.push(procWrite(attr.path, attr.data));
  if (seccompStep && proc.noNewPrivileges && !listenerLate) steps.push(seccompStep);
  const arg0 = proc.args[0] ?? "";
  add(
    { op: "EXEC", candidates: execCandidates(arg0, env), argv: proc.args, env },
    `exec ${proc.args.map(q).join(" ")}`,
  );
  return warnings.length > 0 ? { steps, idMaps, warnings } : { steps, idMaps };
}
