// create's first step: everything the planner needs, read and checked before anything exists.
// The bundle is validated (src/config), the host looked at, and the fd numbers the helper will
// inherit handed out by the session; the result is the planner's input as plain fields.

import { checkRootfs } from "../config/bundle.ts";
import { loadSpec } from "../config/load.ts";
import {
  checkRootfsOverlay,
  parseRootfsMountns,
  parseRootfsOverlay,
  ROOTFS_MOUNTNS,
  ROOTFS_OVERLAY,
  type RootfsOverlay,
} from "../config/rootfs-overlay.ts";
import type { Spec } from "../config/types.ts";
import { type IdmapRequest, idmapRequests } from "../plan/idmap.ts";
import type { ConsoleMode, HostFacts, PlanInput } from "../plan/plan.ts";
import { callerIdentity, rootlessMode } from "../state/rootless.ts";
import { checkId, type StateDir } from "../state/state.ts";
import { getRlimit, RLIMIT_NOFILE } from "../sys/rlimit.ts";
import { mark } from "../sys/trace.ts";
import { LeopardError } from "../util/errors.ts";
import { resolve } from "../util/path.ts";
import { cgroupJoinFiles, cgroupPathsFor, type JoinFiles } from "./cgroup.ts";
import { planHooks } from "./create-hooks.ts";
import type { FdSlot, HelperSession } from "./helper-session.ts";
import { containerHome } from "./home.ts";
import { hostFacts } from "./host-facts.ts";
import { lsmHost, planLsm } from "./lsm.ts";
import { notifyDir } from "./notify.ts";

export interface CreateOptions {
  id: string;
  bundle: string;
  state: StateDir;
  pidFile?: string | undefined;
  consoleSocket?: string | undefined;
  noPivot?: boolean | undefined;
  /** Rootless (src/state/rootless.ts): runc's rules for cgroups, devices, ids and limits; default auto. */
  rootless?: boolean | undefined;
  /** --systemd-cgroup: the cgroup is a systemd scope (src/cgroups/systemd.ts). */
  systemdCgroup?: boolean | undefined;
  /** LISTEN_FDS from systemd: that many fds from 3 pass through (counted in preserveFds too). */
  listenFds?: number | undefined;
  /** --no-new-keyring: keep the caller's session keyring instead of a fresh one. */
  noNewKeyring?: boolean | undefined;
  preserveFds?: number | undefined;
  /** foreground: `run` waits for the container and relays its exit status. */
  mode: "detached" | "foreground";
  /** Print the launch plan as numbered shell steps before running it, and its timings after. */
  explain?: ((text: string) => void) | undefined;
}

export interface Prepared {
  spec: Spec;
  bundle: string;
  /** The planner's whole input. */
  input: PlanInput;
  /** Where the cgroup will be, per hierarchy. */
  cgroupPaths: Readonly<Record<string, string>>;
  /** Whether runc's rootless rules hold (src/state/rootless.ts). */
  rootless: boolean;
  /** The compiled seccomp filter, when the config has one. */
  seccomp: PlanInput["seccomp"];
  /** Idmapped bind mounts to prepare, and the helper's fd slot for each clone. */
  idmaps: { requests: IdmapRequest[]; slots: FdSlot[] };
  /** The start FIFO's slot (opened once the state directory exists). */
  fifo: FdSlot;
  /** The files the helper joins the cgroup by (opened once it exists), and their slots; else sync 2. */
  cgroupJoin?: { files: JoinFiles; tasks: FdSlot[]; unified?: FdSlot | undefined } | undefined;
  /** The console socket to connect, and its slot, with --console-socket. */
  console?: { path: string; slot: FdSlot } | undefined;
  /** NOTIFY_SOCKET of the caller, when there is one. */
  notifySocket: string | undefined;
  /** Lines for stderr about config the host cannot honour. */
  warnings: readonly string[];
}

/**
 * With a root overlay the runtime mounts itself, root.path is an empty mount point on the host:
 * a directory of the image (tmpcopyup's question) is empty only when it is in no layer.
 */
function overlayFacts(host: HostFacts, rootfs: string, o: RootfsOverlay | undefined): HostFacts {
  const empty = host.dirIsEmpty;
  if (o === undefined || empty === undefined) return host;
  const layers = [o.upper, ...o.lower];
  return {
    ...host,
    dirIsEmpty: (p) =>
      p.startsWith(`${rootfs}/`) ? layers.every((l) => empty(l + p.slice(rootfs.length))) : empty(p),
  };
}

export async function prepareCreate(opts: CreateOptions, session: HelperSession): Promise<Prepared> {
  checkId(opts.id); // first: the id names the state directory and the default cgroup
  const rootless = opts.rootless ?? rootlessMode("auto", callerIdentity());
  const bundle = resolve(opts.bundle);
  const spec = loadSpec(bundle);
  const notifySocket = process.env["NOTIFY_SOCKET"] || undefined;
  mark("create: config.json validated");
  const rootfs = spec.root.path;
  checkRootfs(rootfs);
  // The root as an overlay mounted in the container's namespaces (src/config/rootfs-overlay.ts).
  const overlayText = spec.annotations[ROOTFS_OVERLAY];
  const rootfsOverlay = overlayText === undefined ? undefined : parseRootfsOverlay(overlayText);
  const mountns = spec.annotations[ROOTFS_MOUNTNS];
  if (mountns !== undefined && rootfsOverlay === undefined) parseRootfsMountns(mountns, false);
  if (mountns !== undefined && rootfsOverlay) rootfsOverlay.mountedIn = parseRootfsMountns(mountns, true);
  if (rootfsOverlay) checkRootfsOverlay(rootfsOverlay, rootless ? (process.geteuid?.() ?? 0) : undefined);
  const terminal = spec.process.terminal === true;
  if (terminal && opts.mode === "detached" && !opts.consoleSocket)
    throw new LeopardError(
      "invalid-argument",
      "a container with a terminal needs --console-socket when detached",
    );
  if (!terminal && opts.consoleSocket)
    throw new LeopardError(
      "invalid-argument",
      "--console-socket is only for a container with process.terminal set",
    );
  // The helper's fds: 0-2, the preserved ones from 3, then the sync socket (the session's first),
  // the FIFO, the console socket, the idmapped clones, numbered in that order as they are added.
  const fifo = session.reserve();
  const console =
    terminal && opts.consoleSocket
      ? { path: resolve(opts.consoleSocket), slot: session.reserve() }
      : undefined;
  const consoleMode: ConsoleMode = !terminal
    ? { kind: "none" }
    : console
      ? { kind: "socket", path: console.path, fd: console.slot.number }
      : { kind: "sync" };
  const requests = idmapRequests(spec); // a bad idmapped mount is an invalid-spec LeopardError
  const slots = requests.map(() => session.reserve());
  // Where the cgroup will be (created once the id is claimed; with --systemd-cgroup, systemd makes
  // it at sync 2). --systemd-cgroup without systemd is refused here.
  const cgroupPaths = cgroupPathsFor(spec, opts.id, opts.systemdCgroup === true, rootless);
  const joinFiles = cgroupJoinFiles(spec, cgroupPaths, opts.systemdCgroup === true, rootless);
  const cgroupJoin = joinFiles && {
    files: joinFiles,
    tasks: joinFiles.tasks.map(() => session.reserve()),
    unified: joinFiles.unified === undefined ? undefined : session.reserve(),
  };
  // Compiled only when the config has a filter: libseccomp costs ~30 ms to load.
  const seccomp = spec.linux.seccomp
    ? await import("../seccomp/cache.ts").then((c) =>
        c.compileCached(spec.linux.seccomp!, c.cacheDirFor(process.env, rootless)),
      )
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
  const input: PlanInput = {
    spec,
    id: opts.id,
    rootfs,
    fifo: opts.state.fifo(opts.id),
    fifoFd: fifo.number,
    mode: opts.mode,
    console: consoleMode,
    noPivot: opts.noPivot === true,
    preserveFds: opts.preserveFds ?? 0,
    inheritedNofile: getRlimit(RLIMIT_NOFILE),
    seccomp,
    lsmExec: lsm.lsmExec,
    mountLabel: lsm.mountLabel,
    cgroupSync: cgroupJoin === undefined,
    cgroupJoin: cgroupJoin && {
      tasks: cgroupJoin.tasks.map((s) => s.number),
      unified: cgroupJoin.unified?.number,
    },
    cgroupPaths,
    hooks: planHooks(spec, opts.id, bundle),
    newKeyring: opts.noNewKeyring !== true,
    idmapFds: new Map(requests.map((r, i) => [r.index, slots[i]!.number])),
    home: containerHome(spec, rootfs),
    host: overlayFacts(hostFacts(spec, rootfs, rootless), rootfs, rootfsOverlay),
    rootfsOverlay,
    launch: {
      listenFds: opts.listenFds,
      notify: notifySocket
        ? { callerSocket: notifySocket, hostDir: notifyDir(opts.state, opts.id) }
        : undefined,
    },
  };
  return {
    spec,
    bundle,
    input,
    cgroupPaths,
    rootless,
    seccomp,
    idmaps: { requests, slots },
    fifo,
    cgroupJoin,
    console,
    notifySocket,
    warnings: lsm.warnings,
  };
}
