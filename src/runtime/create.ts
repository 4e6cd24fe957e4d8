// create: validate, plan, launch the helper and drive the sync protocol until init waits on the
// start FIFO. Nothing of TypeScript stays resident for a detached container. Nothing is made
// before the state directory and its first record, which names what comes next (the cgroups, the
// scope, then the helper): `delete` of a create killed at any point removes all of it.
import {
  chmodSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  realpathSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { resolve } from "node:path";
import { type HookState, hookArgv, hookTimeoutMs, runHooks, stateAroundPid } from "../hooks/hooks.ts";
import type { PlanHooks } from "../plan/hooks.ts";
import { idmapRequests } from "../plan/idmap.ts";
import { type ConsoleMode, type LaunchPlan, plan } from "../plan/plan.ts";
import { decodeMessage, type HelperMessage } from "../protocol/decode.ts";
import { planFrame, resumeFrame } from "../protocol/encode.ts";
import { SyncTag } from "../protocol/ops.ts";
import { loadSpec } from "../spec/load.ts";
import type { Spec, SpecHook } from "../spec/types.ts";
import { checkId, OCI_VERSION, type StateDir, type StoredState } from "../state/state.ts";
import { mkfifo, writeFileAtomic } from "../sys/fs.ts";
import { writeAll } from "../sys/io.ts";
import {
  capLastCap,
  cgroupHierarchies,
  type MountInfo,
  mountInfo,
  mountOf,
  processStartTime,
} from "../sys/proc.ts";
import { getRlimit, RLIMIT_NOFILE } from "../sys/rlimit.ts";
import { closeFd, connectUnix, recvMsg, sendMsg, socketPair } from "../sys/seqpacket.ts";
import { mark } from "../sys/trace.ts";
import { describe, LeopardError } from "../util/errors.ts";
import { type ContainerCgroup, cgroupPathsFor, prepareCgroup, scopeUnitFor } from "./cgroup.ts";
import { describeFailure } from "./describe.ts";
import { helperPath } from "./helper-path.ts";
import { containerHome } from "./home.ts";
import { idmapFdNumbers, prepareIdmappedMounts } from "./idmap.ts";
import { lsmHost, planLsm } from "./lsm.ts";
import { notifyDir, withNotifySocket } from "./notify.ts";
import { containerProcessState, handOverListener, SeccompAgent } from "./seccomp-listener.ts";
import { type HelperProcess, type HelperStdio, spawnHelper } from "./spawn.ts";

export interface CreateOptions {
  id: string;
  bundle: string;
  state: StateDir;
  pidFile?: string | undefined;
  consoleSocket?: string | undefined;
  noPivot?: boolean | undefined;
  /** --systemd-cgroup: the cgroup is a systemd scope (src/cgroups/systemd.ts). */
  systemdCgroup?: boolean | undefined;
  /** LISTEN_FDS from systemd: that many fds from 3 pass through (counted in preserveFds too). */
  listenFds?: number | undefined;
  /** --no-new-keyring: keep the caller's session keyring instead of a fresh one. */
  noNewKeyring?: boolean | undefined;
  preserveFds?: number | undefined;
  /** foreground: `run` waits for the container and relays its exit status. */
  mode: "detached" | "foreground";
  /** Print the launch plan as numbered shell steps before running it. */
  explain?: ((text: string) => void) | undefined;
}

export interface Launched {
  pid: number;
  helper: HelperProcess;
  /** Our end of the sync socket, still open in foreground mode (EOF = exec happened). */
  sync: number;
  /** The pty master, when the container has a terminal and no console socket was given. */
  pty?: number;
  plan: LaunchPlan;
}

const HELPER_TIMEOUT_MS = 60_000;
const O_PATH = 0o10000000;
const O_CLOEXEC = 0o2000000;

export function explainPlan(p: LaunchPlan): string {
  return p.steps.map((s, i) => `${String(i + 1).padStart(3)}. ${s.explain}`).join("\n");
}

export async function create(opts: CreateOptions): Promise<Launched> {
  mark("create: modules loaded");
  checkId(opts.id); // first: the id names the state directory and the default cgroup
  const bundle = resolve(opts.bundle);
  const loaded = loadSpec(bundle);
  // systemd socket activation, as runc passes it on: the fds follow 0-2, the process is told so.
  let spec: Spec = opts.listenFds
    ? {
        ...loaded,
        process: {
          ...loaded.process,
          env: [...loaded.process.env, `LISTEN_FDS=${opts.listenFds}`, "LISTEN_PID=1"],
        },
      }
    : loaded;
  const notifySocket = process.env["NOTIFY_SOCKET"];
  if (notifySocket) spec = withNotifySocket(spec, notifyDir(opts.state, opts.id), notifySocket);
  mark("create: config.json validated");
  const rootfs = spec.root.path;
  let st: ReturnType<typeof statSync> | undefined;
  try {
    st = statSync(rootfs);
  } catch {
    st = undefined;
  }
  if (!st?.isDirectory())
    throw new LeopardError("invalid-spec", `rootfs "${rootfs}" does not exist or is not a directory`);
  for (const dir of ["/proc", "/sys"]) {
    try {
      if (lstatSync(rootfs + dir).isSymbolicLink()) {
        throw new LeopardError("invalid-spec", `mount destination "${dir}" is a symlink in the rootfs`);
      }
    } catch (e) {
      if (e instanceof LeopardError) throw e;
    }
  }
  const terminal = spec.process.terminal === true;
  if (terminal && opts.mode === "detached" && !opts.consoleSocket) {
    throw new LeopardError(
      "invalid-argument",
      "a container with a terminal needs --console-socket when detached",
    );
  }
  if (!terminal && opts.consoleSocket) {
    throw new LeopardError(
      "invalid-argument",
      "--console-socket is only for a container with process.terminal set",
    );
  }
  const preserveFds = opts.preserveFds ?? 0;
  // The helper's fds: 0-2, the preserved ones from 3, then the sync socket, the FIFO, the console socket.
  const fds = { sync: 3 + preserveFds, fifo: 4 + preserveFds, console: 5 + preserveFds };
  const consoleMode: ConsoleMode = !terminal
    ? { kind: "none" }
    : opts.consoleSocket
      ? { kind: "socket", path: resolve(opts.consoleSocket), fd: fds.console }
      : { kind: "sync" };
  // Idmapped bind mounts: their detached clones follow the other inherited fds.
  let idmaps: ReturnType<typeof idmapRequests>;
  try {
    idmaps = idmapRequests(spec);
  } catch (e) {
    throw new LeopardError("invalid-spec", describe(e), { cause: e });
  }
  const idmapFds = idmapFdNumbers(idmaps, (consoleMode.kind === "socket" ? fds.console : fds.fifo) + 1);
  const mounts = mountInfo();
  const nofile = getRlimit(RLIMIT_NOFILE);
  // Where the cgroup will be (created once the id is claimed; with --systemd-cgroup, systemd makes
  // it at sync 2). --systemd-cgroup without systemd is refused here.
  const cgroupPaths = cgroupPathsFor(spec, opts.id, opts.systemdCgroup === true);
  // Compiled only when the config has a filter: libseccomp costs ~30 ms to load.
  const seccomp = spec.linux.seccomp
    ? await (await import("../seccomp/cache.ts")).compileCached(spec.linux.seccomp)
    : undefined;
  // AppArmor/SELinux: refused before anything exists when the host lacks them.
  const lsm = planLsm(
    {
      apparmorProfile: spec.process.apparmorProfile,
      selinuxLabel: spec.process.selinuxLabel,
      mountLabel: spec.linux.mountLabel,
    },
    lsmHost(),
  );
  const launchPlan = plan({
    spec,
    id: opts.id,
    rootfs,
    fifo: opts.state.fifo(opts.id),
    fifoFd: fds.fifo,
    mode: opts.mode,
    console: consoleMode,
    noPivot: opts.noPivot === true,
    preserveFds,
    inheritedNofile: nofile,
    seccomp,
    lsmExec: lsm.lsmExec,
    mountLabel: lsm.mountLabel,
    cgroupSync: true,
    cgroupPaths,
    hooks: planHooks(spec, opts.id, bundle),
    newKeyring: opts.noNewKeyring !== true,
    idmapFds,
    home: containerHome(spec, rootfs),
    host: {
      capLast: capLastCap(),
      cgroupMounts: cgroupHierarchies(mounts),
      rootfsParent: rootfsParent(joinedMountTable(spec) ?? mounts, rootfs),
      sourceIsDir: (p) => {
        try {
          return statSync(p).isDirectory();
        } catch {
          return true;
        }
      },
      dirIsEmpty: (p) => {
        try {
          return readdirSync(p).length === 0;
        } catch (e) {
          return (e as NodeJS.ErrnoException).code === "ENOENT";
        }
      },
      hostHas: (p) => {
        try {
          statSync(p);
          return true;
        } catch {
          return false;
        }
      },
    },
  });
  mark("create: planned");
  // Warnings about ignored config, one line each, as runc prints them.
  for (const w of [...lsm.warnings, ...(launchPlan.warnings ?? [])]) {
    writeAll(2, `leopard-oci: warning: ${w}\n`);
  }
  opts.explain?.(explainPlan(launchPlan));

  // Before anything exists: a seccomp agent that cannot be reached, or a mount the kernel refuses
  // to idmap, leaves nothing behind. Our fds close when create returns; the helper holds its own.
  using agent = SeccompAgent.connect(spec.linux.seccomp, seccomp?.listener === true);
  using idmapped = prepareIdmappedMounts(idmaps);
  // The first record, written with the directory before anything else exists: it names the
  // cgroups and the scope about to be made, so `delete` of a create killed from here on finds
  // them (state.ts). pid 0 and a live creator: "creating"; a dead creator: "stopped".
  const stored: StoredState = {
    ociVersion: OCI_VERSION,
    id: opts.id,
    pid: 0,
    pidStartTime: "",
    bundle,
    rootfs,
    created: new Date().toISOString(),
    owner: "",
    annotations: spec.annotations ?? {},
    ownPidNamespace: (spec.linux?.namespaces ?? []).some((n) => n.type === "pid" && !n.path),
    creatorPid: process.pid,
    creatorStartTime: processStartTime(process.pid) ?? "",
    cgroupPaths,
    ...(opts.systemdCgroup ? { systemdScope: scopeUnitFor(spec, opts.id) } : {}),
  };
  opts.state.claim(stored);
  mark("create: id claimed");
  let cgroup: ContainerCgroup;
  try {
    if (notifySocket) mkdirSync(notifyDir(opts.state, opts.id), { mode: 0o755 });
    cgroup = prepareCgroup(spec, cgroupPaths, opts.id, opts.systemdCgroup === true);
  } catch (e) {
    opts.state.remove(opts.id);
    throw e;
  }
  mark("create: cgroup made");
  let launched: Launched | undefined;
  try {
    // The config as it is now: exec and delete's hooks read this copy, not a bundle that may change.
    copyFileSync(resolve(bundle, "config.json"), `${opts.state.dir(opts.id)}/config.json`);
    // poststart and poststop run from `start` and `delete`, which should not parse the config.
    if (spec.hooks.poststart.length + spec.hooks.poststop.length > 0) {
      const { poststart, poststop } = spec.hooks;
      writeFileAtomic(`${opts.state.dir(opts.id)}/hooks.json`, JSON.stringify({ poststart, poststop }));
    }
    const fifo = opts.state.fifo(opts.id);
    mkfifo(fifo, 0o622);
    chmodSync(fifo, 0o622);
    mark("create: state dir ready");
    launched = launch(launchPlan, opts, preserveFds, fifo, consoleMode, idmapped.fds, {
      spawned: (pid) => {
        // Until it joins the cgroup, only this names the helper for a `delete` of a killed create.
        stored.helperPid = pid;
        stored.helperStartTime = processStartTime(pid) ?? "";
        opts.state.write(stored);
      },
      hooks: (pid) => {
        const st: HookState = { ...hookState(spec, opts.id, bundle), status: "creating", pid };
        runHooks("prestart", spec.hooks.prestart, st);
        runHooks("createRuntime", spec.hooks.createRuntime, st);
      },
      cgroup: (pid) => cgroup.join(pid),
      listener: (fd, pid) => {
        // sync 5: init's filter has a listener; the agent gets it before init goes on.
        if (agent === undefined || spec.linux.seccomp === undefined)
          throw new LeopardError("protocol", "the helper sent a seccomp listener none was planned for");
        const ctx = {
          ociVersion: OCI_VERSION,
          id: opts.id,
          status: "creating",
          initPid: pid,
          bundle,
          annotations: spec.annotations,
        };
        agent.send(fd, containerProcessState(spec.linux.seccomp, ctx, pid));
      },
    });
    mark("create: container ready");
    stored.pid = launched.pid;
    stored.pidStartTime = processStartTime(launched.pid) ?? "";
    delete stored.creatorPid;
    delete stored.creatorStartTime;
    delete stored.helperPid;
    delete stored.helperStartTime;
    opts.state.write(stored);
    mark("create: state written");
    if (opts.pidFile) writeFileAtomic(resolve(opts.pidFile), String(launched.pid));
    return launched;
  } catch (e) {
    if (launched) {
      try {
        process.kill(launched.pid, "SIGKILL");
      } catch {}
    }
    try {
      cgroup.destroy();
    } catch {}
    opts.state.remove(opts.id);
    throw e;
  }
}

/** What create does at the helper's steps, each given a pid. */
interface LaunchEvents {
  /** The helper runs (its pid). */
  spawned(pid: number): void;
  /** sync 4: the runtime's hooks (init's pid). */
  hooks(pid: number): void;
  /** sync 2: the helper joins the cgroup (its pid). */
  cgroup(pid: number): void;
  /** sync 5: the listener fd of init's seccomp filter (init's pid), for linux.seccomp.listenerPath. */
  listener(fd: number, pid: number): void;
}

function launch(
  p: LaunchPlan,
  opts: CreateOptions,
  preserveFds: number,
  fifo: string,
  consoleMode: ConsoleMode,
  mountFds: readonly number[],
  on: LaunchEvents,
): Launched {
  // Opened here, by the runtime, and inherited: the container's user may not reach these paths.
  const passed: number[] = [openSync(fifo, O_PATH | O_CLOEXEC)];
  if (consoleMode.kind === "socket") {
    try {
      passed.push(connectUnix(consoleMode.path));
    } catch (e) {
      for (const fd of passed) closeFd(fd);
      throw new LeopardError(
        "invalid-argument",
        `cannot connect to console socket "${consoleMode.path}": ${describe(e)}`,
        { cause: e },
      );
    }
  }
  const [ours, theirs] = socketPair();
  const stdio: HelperStdio = ["inherit", "inherit", "inherit"];
  for (let i = 0; i < preserveFds; i++) stdio.push({ caller: 3 + i });
  stdio.push(theirs, ...passed, ...mountFds);
  let helper: HelperProcess;
  try {
    helper = spawnHelper([helperPath(), String(3 + preserveFds)], stdio);
  } catch (e) {
    closeFd(ours);
    closeFd(theirs);
    throw new LeopardError("helper", `cannot start the helper: ${describe(e)}`, { cause: e });
  } finally {
    for (const fd of passed) closeFd(fd);
  }
  closeFd(theirs);
  let pid = 0;
  let pty: number | undefined;
  try {
    on.spawned(helper.pid);
    mark("create: helper spawned");
    sendMsg(ours, planFrame(p.steps.map((s) => s.op)));
    for (;;) {
      const m = recvMsg(ours, HELPER_TIMEOUT_MS);
      if (m === null) throw new LeopardError("helper", "the helper exited before the container was ready");
      const msg: HelperMessage = decodeMessage(m.data);
      switch (msg.type) {
        case "sync":
          if (msg.tag === SyncTag.HOOKS) {
            // sync 4: namespaces and mounts exist, pivot_root has not happened: the runtime's hooks.
            on.hooks(pid); // init's pid as we see it (its SYNC carries its own view)
            mark("create: hooks run");
          } else if (msg.tag === SyncTag.CGROUP) {
            // sync 2: the helper, still in the host's PID namespace, joins the container's cgroup
            // before it creates the cgroup namespace and forks init.
            on.cgroup(msg.pid);
            mark("create: cgroup joined");
          } else if (msg.tag === SyncTag.SECCOMP_LISTENER) {
            // sync 5: the listener of init's seccomp filter, for linux.seccomp.listenerPath.
            handOverListener(m.fds, (fd) => on.listener(fd, pid));
          } else if (msg.tag === SyncTag.ID_MAPS) {
            // sync 1: the user namespace exists; write its id maps from outside.
            if (!p.idMaps)
              throw new LeopardError(
                "protocol",
                "helper asked for id maps but no user namespace was planned",
              );
            writeMap(msg.pid, "uid_map", p.idMaps.uid);
            writeMap(msg.pid, "gid_map", p.idMaps.gid);
            mark("create: id maps written");
          }
          sendMsg(ours, resumeFrame(msg.tag));
          break;
        case "pid":
          pid = msg.pid;
          mark("create: init forked");
          break;
        case "pty":
          pty = m.fds[0];
          for (const extra of m.fds.slice(1)) closeFd(extra);
          break;
        case "error": {
          const op = p.steps[msg.index]?.op;
          throw new LeopardError("helper", describeFailure(msg, op), { errno: msg.errno, path: msg.path });
        }
        case "ready":
          if (pid === 0)
            throw new LeopardError("protocol", "helper reported ready before the container's pid");
          if (opts.mode === "detached") closeFd(ours);
          return pty === undefined
            ? { pid, helper, sync: ours, plan: p }
            : { pid, helper, sync: ours, pty, plan: p };
      }
    }
  } catch (e) {
    // Killed before their socket closes, so neither sees (and reports) the EOF.
    if (pid !== 0) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    try {
      helper.kill("SIGKILL");
    } catch {}
    closeFd(ours);
    throw e;
  }
}

function writeMap(pid: number, file: "uid_map" | "gid_map", text: string): void {
  try {
    writeFileSync(`/proc/${pid}/${file}`, text);
  } catch (e) {
    throw new LeopardError("system", `write ${file} for pid ${pid}: ${describe(e)}`, { cause: e });
  }
}

function hookState(spec: Spec, id: string, bundle: string): Omit<HookState, "status" | "pid"> {
  return { ociVersion: spec.ociVersion, id, bundle, annotations: spec.annotations };
}

/** The hooks the plan carries: sync 4 when the parent has some to run, the container's own as RUN_HOOK ops. */
function planHooks(spec: Spec, id: string, bundle: string): PlanHooks | undefined {
  const h = spec.hooks;
  if (h.prestart.length + h.createRuntime.length + h.createContainer.length + h.startContainer.length === 0)
    return undefined;
  const base = hookState(spec, id, bundle);
  const toPlan = (list: readonly SpecHook[]) =>
    list.map((x) => ({ path: x.path, argv: hookArgv(x), env: x.env, timeoutMs: hookTimeoutMs(x) }));
  return {
    runtime: h.prestart.length + h.createRuntime.length > 0,
    createContainer: toPlan(h.createContainer),
    startContainer: toPlan(h.startContainer),
    creating: stateAroundPid({ ...base, status: "creating" }),
    created: stateAroundPid({ ...base, status: "created" }),
  };
}

/** The host mount the root filesystem lies on (symlinks resolved, as runc does), for the planner. */
function rootfsParent(
  mounts: readonly MountInfo[],
  rootfs: string,
): { path: string; shared: boolean } | undefined {
  let real = rootfs;
  try {
    real = realpathSync(rootfs);
  } catch {}
  const m = mountOf(mounts, real);
  return m && { path: m.mountPoint, shared: m.optional.split(" ").some((f) => f.startsWith("shared:")) };
}

/**
 * The mount table of a mount namespace the container joins, when its path names a process's
 * (/proc/PID/ns/mnt): the rootfs's parent mount is looked up there. Another path (a bind-mounted
 * namespace file) gives no table: the planner then makes no mount private, as it cannot tell.
 */
function joinedMountTable(spec: Spec): readonly MountInfo[] | undefined {
  const path = spec.linux.namespaces.find((n) => n.type === "mount")?.path;
  if (path === undefined) return undefined;
  const pid = /^\/proc\/(\d+)\/ns\/mnt$/.exec(path)?.[1];
  if (pid === undefined) return [];
  try {
    return mountInfo(Number(pid));
  } catch {
    return [];
  }
}
