// A build step's container: an overlay root filesystem on the layers built so far (a plain
// directory on scratch), in which RUN runs a command as a leopard container with docker's
// defaults (capabilities, seccomp, masked paths) and COPY writes files. The step's layer is the
// overlay's upper directory, minus the mount points the runtime had to make (/proc, /sys, /dev,
// /etc/hosts, …) where the image had none. Disposing of it removes the runtime's state, the
// mount and every directory, whatever happened before.
//
// Rootless (an ordinary user's build), a RUN step's root is the overlay the runtime mounts in the
// container's own user namespace (overlay-userns, src/config/rootfs-overlay.ts), as `leopard run`
// has it, where the kernel allows that (else the copy, as before); the host reads and makes
// paths in its layers (src/image/layered.ts), the step's layer is the upper directory with its
// owners mapped back through the id maps. Its network: "none" a namespace of its own with
// loopback up; otherwise the user's own (rootless has no CNI bridge). COPY steps and --from
// staging keep the copy.

import { randomBytes } from "node:crypto";
import { existsSync, lstatSync, readdirSync, rmSync, type Stats, writeFileSync } from "node:fs";
import { containerOwner } from "../engine/commit.ts";
import type { ContainerConfig } from "../engine/config.ts";
import { containerDir, type EngineDirs } from "../engine/dirs.ts";
import { boundingSet, defaultCaps, seccompFor } from "../engine/engine.ts";
import { hostsFile, resolvConf } from "../engine/etc-files.ts";
import { findExecutable, type RootView, readInRoot } from "../engine/exe.ts";
import { networkPathsFor } from "../engine/network-cni.ts";
import { callerRootlessIds } from "../engine/rootless.ts";
import { buildSpec } from "../engine/spec.ts";
import { withForegroundStdio } from "../engine/stdio.ts";
import { resolveUser } from "../engine/users.ts";
import { mkdirInRoot } from "../engine/workdir.ts";
import type { Digest } from "../image/digest.ts";
import type { DirLayerOptions } from "../image/dir-layer.ts";
import { lgetxattr } from "../image/ffi.ts";
import { lookupLayered, mkdirLayered } from "../image/layered.ts";
import { type PreparedRootfs, prepareRootfs, removeRootfs } from "../image/rootfs.ts";
import type { Store } from "../image/store.ts";
import { usernsOverlayRefused } from "../image/userns-overlay-probe.ts";
import * as runtime from "../runtime/lifecycle.ts";
import { run } from "../runtime/run.ts";
import type { StateDir } from "../state/state.ts";
import { writeFileAtomic } from "../sys/fs.ts";
import { SYSTEM_PATH } from "../sys/host-tool.ts";
import { describe, LeopardError } from "../util/errors.ts";
import { engineRootless } from "../util/user-dirs.ts";

/** Where the runtime mounts things over the root filesystem (made there when missing). */
const MOUNT_POINTS = ["proc", "sys", "dev", "etc/hosts", "etc/hostname", "etc/resolv.conf", "etc"];
/** Directories the overlay copies up to make a mount point in them. */
const COPIED_UP = ["etc"];

export interface RunRequest {
  argv: string[];
  env: string[];
  workingDir: string;
  user: string;
  /** bridge: the engine's default network ("leopard"), through the CNI plugins. */
  network: "none" | "host" | "bridge";
  /** Each chunk of the command's output. */
  output: (fd: 1 | 2, chunk: Uint8Array) => void;
}

export class BuildContainer {
  readonly id: string;
  /** Paths in diffDir that are not the step's changes (see #excludeMade). */
  readonly exclude = new Set<string>();
  #rootfs: PreparedRootfs | undefined;
  #running = false;
  #netns = false;

  private constructor(
    readonly store: Store,
    readonly dirs: EngineDirs,
    readonly oci: StateDir,
    id?: string,
  ) {
    this.id = id ?? `leopard-build-${process.pid}-${randomBytes(6).toString("hex")}`;
  }

  /**
   * Removes what builds killed outright (SIGKILL, a crash) left: their containers' processes,
   * runtime state, network namespaces and root filesystems. A build's containers carry its pid;
   * only those of processes that are gone are touched.
   */
  static async sweep(store: Store, dirs: EngineDirs, oci: StateDir): Promise<string[]> {
    const swept: string[] = [];
    let names: string[] = [];
    try {
      names = readdirSync(containerDir(dirs, "")).filter((n) => n.startsWith("leopard-build-"));
    } catch {
      // no container directory yet: nothing to sweep
    }
    for (const id of names) {
      const pid = builderPid(id);
      if (pid === undefined || alive(pid)) continue;
      const c = new BuildContainer(store, dirs, oci, id);
      c.#netns = true;
      await runtime.remove(oci, id, true).catch(() => undefined);
      await c.#detach().catch(() => undefined);
      await removeRootfs(store, id).catch(() => undefined);
      rmSync(containerDir(dirs, id), { recursive: true, force: true });
      swept.push(id);
    }
    return swept;
  }

  /** A container on the layers `chain` (lowest first); image names what they came from. */
  static async open(
    store: Store,
    dirs: EngineDirs,
    oci: StateDir,
    chain: readonly Digest[],
    image: Digest,
    forRun = false,
  ): Promise<BuildContainer> {
    const c = new BuildContainer(store, dirs, oci);
    const userns =
      forRun && chain.length > 0 && engineRootless() && store.unpackOptions.rootless === true
        ? usernsOverlayRefused(store) === undefined
        : false;
    c.#rootfs = await prepareRootfs(
      store,
      {
        id: image,
        manifestDigest: image,
        manifestMediaType: "",
        layers: [],
        chain: [...chain],
        size: 0,
        created: "",
        added: 0,
      },
      c.id,
      chain.length === 0 ? { mode: "copy" } : userns ? { mode: "overlay-userns" } : {},
    );
    return c;
  }

  /** The root as the host reads it: its directory, or (overlay-userns) its layers, upper first. */
  get view(): RootView {
    const r = this.#rootfs;
    if (r === undefined) throw new LeopardError("bad-state", "the build container is gone");
    if (r.kind !== "overlay-userns") return r.path;
    const lower = (r.overlay ?? "").split(",")[0]?.slice("lowerdir=".length).split(":") ?? [];
    return { layers: [`${containerDir(this.dirs, this.id)}/upper`, ...lower] };
  }

  /**
   * Rootless, for COPY: the container's root is the user on the host; another owner (--chown)
   * would be a subordinate id, which only the step's user namespace could give: refused.
   */
  get hostOwner(): ((o: { uid: number; gid: number }) => { uid: number; gid: number }) | undefined {
    if (!this.#rootless) return undefined;
    return (o) => {
      if (o.uid !== 0 || o.gid !== 0)
        throw new LeopardError(
          "unsupported",
          `COPY --chown to ${o.uid}:${o.gid} is not supported in a rootless build (only root, the user itself, can own what COPY writes)`,
        );
      return { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0 };
    };
  }

  get #rootless(): boolean {
    return engineRootless() && this.store.unpackOptions.rootless === true;
  }

  /**
   * How the step's layer is read from diffDir: rootless, user.overlay.* marks and the owners
   * mapped back through the id maps (the user's files are root's in the image).
   */
  get layerOptions(): DirLayerOptions {
    return this.#rootless
      ? { exclude: this.exclude, overlayXattr: "user", owner: containerOwner(callerRootlessIds()) }
      : { exclude: this.exclude };
  }

  get rootfs(): string {
    if (this.#rootfs === undefined) throw new LeopardError("bad-state", "the build container is gone");
    return this.#rootfs.path;
  }

  /** The directory holding this step's changes, in overlay form. */
  get diffDir(): string {
    const r = this.#rootfs;
    if (r === undefined) throw new LeopardError("bad-state", "the build container is gone");
    return r.kind === "overlay" || r.kind === "overlay-userns"
      ? `${containerDir(this.dirs, this.id)}/upper`
      : r.path;
  }

  /** Runs a command; its exit status. */
  async run(req: RunRequest): Promise<number> {
    const root = this.rootfs;
    const view = this.view;
    // Rootless: a user namespace of the user's ids, no cgroup of our own, no pinned network
    // namespace; on overlay-userns (else the copy, where the kernel refuses it).
    const rootless = this.#rootless;
    const dir = containerDir(this.dirs, this.id);
    const at = (p: string) =>
      typeof view === "string"
        ? lstatOrUndefined(`${root}/${p}`)
        : lookupLayered(view.layers, `/${p}`, true)?.st;
    const missing = MOUNT_POINTS.filter((p) => at(p) === undefined);
    const parents = new Map<string, { mode: number; uid: number; gid: number }>();
    for (const p of COPIED_UP) {
      try {
        const st = at(p);
        if (st === undefined) continue;
        if (st.isDirectory() && !missing.includes(p))
          parents.set(p, { mode: st.mode, uid: st.uid, gid: st.gid });
      } catch {
        // not in the image: the runtime will make it, and #excludeMade sees it as missing
      }
    }
    const cwd = req.workingDir === "" ? "/" : req.workingDir;
    if (cwd !== "/") {
      try {
        if (typeof view === "string") mkdirInRoot(root, cwd);
        else mkdirLayered(view.layers, cwd);
      } catch (e) {
        throw new LeopardError(
          "invalid-argument",
          `working directory "${cwd}" cannot be made: ${describe(e)}`,
        );
      }
    }
    const path = req.env.findLast((e) => e.startsWith("PATH="))?.slice(5) ?? SYSTEM_PATH;
    const exe = findExecutable(view, req.argv[0] ?? "", path, cwd);
    if (!exe.found) throw new LeopardError("not-found", `cannot run "${req.argv.join(" ")}": ${exe.why}`);
    const user = resolveUser(req.user, readInRoot(view, "/etc/passwd"), readInRoot(view, "/etc/group"));
    const hostname = this.id.slice(-12);
    const etc = { hosts: `${dir}/hosts`, hostname: `${dir}/hostname`, resolv: `${dir}/resolv.conf` };
    let netnsPath: string | undefined;
    let addresses: string[] = [];
    // Rootless: no pinned namespace (that needs root): "none" is the runtime's own, loopback up by a hook.
    const network = rootless && req.network === "bridge" ? "host" : req.network;
    if (network !== "host" && !rootless) {
      // A pinned namespace with loopback up (none), on the default network too (bridge).
      const net = await import("../network/index.ts");
      const paths = networkPathsFor(this.dirs);
      if (req.network === "bridge") await net.getNetwork(paths, net.DEFAULT_NETWORK);
      this.#netns = true;
      netnsPath = await net.createNetns(paths, this.id);
      if (req.network === "bridge") {
        const att = await net.attach(paths, this.id, netnsPath, [net.DEFAULT_NETWORK], { aliases: [] });
        addresses = att.map((a) => a.ip);
      }
    }
    writeFileAtomic(etc.hostname, `${hostname}\n`);
    writeFileAtomic(etc.hosts, hostsFile({ hostname, addresses, peers: [], extra: [] }));
    let hostResolv = "";
    try {
      hostResolv = readInRoot("/", "/etc/resolv.conf");
    } catch {
      // no resolv.conf on the host: the container gets the default one
    }
    writeFileAtomic(etc.resolv, resolvConf(hostResolv, [], [], network === "host"));
    const config: ContainerConfig = {
      image: "",
      imageName: "leopard-build",
      entrypoint: [],
      cmd: req.argv,
      env: req.env,
      workingDir: cwd,
      user: req.user,
      hostname,
      tty: false,
      interactive: false,
      readOnly: false,
      tmpfs: [],
      volumes: [],
      ulimits: [],
      capAdd: [],
      capDrop: [],
      seccomp: "default",
      noNewPrivileges: false,
      privileged: false,
      devices: [],
      sysctls: {},
      labels: {},
      init: false,
      stopSignal: "SIGKILL",
      stopTimeout: 0,
      network: network === "bridge" ? "leopard" : network,
      publish: [],
      dns: [],
      addHosts: [],
      autoRemove: true,
    };
    const spec = buildSpec(config, {
      id: this.id,
      rootfs: root,
      user,
      etc,
      netnsPath,
      cgroupsPath: rootless ? undefined : `${process.env["LEOPARD_CGROUP_PARENT"] ?? "/leopard"}/${this.id}`,
      userns: rootless ? callerRootlessIds() : undefined,
      loopbackUp:
        rootless && network === "none" ? (Bun.which("ip", { PATH: SYSTEM_PATH }) ?? undefined) : undefined,
      rootfsOverlay: this.#rootfs?.kind === "overlay-userns" ? this.#rootfs.overlay : undefined,
      defaultCaps: defaultCaps(),
      allCaps: boundingSet(),
      seccompFor: (caps) => seccompFor(caps),
      devices: [],
    });
    writeFileSync(`${dir}/config.json`, JSON.stringify(spec));
    this.#running = true;
    try {
      return await withForegroundStdio({ stdin: false, sink: req.output }, () =>
        run({ id: this.id, bundle: dir, state: this.oci }),
      );
    } finally {
      this.#running = false;
      await runtime.remove(this.oci, this.id, true).catch(() => undefined);
      await this.#detach();
      this.#excludeMade(missing, parents);
    }
  }

  /** SIGKILL to everything in the container, when a command runs (ctrl-c). */
  kill(): void {
    if (!this.#running) return;
    try {
      runtime.kill(this.oci, this.id, "SIGKILL", true);
    } catch {
      // already gone: nothing left to kill
    }
  }

  /**
   * What the runtime made, not the command: mount points where the image had nothing (empty),
   * and a parent (/etc) copied up only to hold them, unchanged and with nothing else in it.
   */
  #excludeMade(
    missing: readonly string[],
    parents: Map<string, { mode: number; uid: number; gid: number }>,
  ): void {
    const diff = this.diffDir;
    for (const p of missing) {
      try {
        const st = lstatSync(`${diff}/${p}`);
        if ((st.isDirectory() && readdirSync(`${diff}/${p}`).length === 0) || (st.isFile() && st.size === 0))
          this.exclude.add(p);
      } catch {
        // not made: nothing to leave out
      }
    }
    for (const [p, before] of parents) {
      try {
        const full = `${diff}/${p}`;
        const st = lstatSync(full);
        const rest = readdirSync(full).filter((n) => !this.exclude.has(`${p}/${n}`));
        if (
          st.isDirectory() &&
          rest.length === 0 &&
          st.mode === before.mode &&
          st.uid === before.uid &&
          st.gid === before.gid &&
          lgetxattr(full, `${this.#rootless ? "user" : "trusted"}.overlay.opaque`) === undefined
        )
          this.exclude.add(p);
      } catch {
        // not copied up: nothing to leave out
      }
    }
  }

  /** The network's interface, address and the pinned namespace go with the step. */
  async #detach(): Promise<void> {
    if (!this.#netns) return;
    const net = await import("../network/index.ts");
    const paths = networkPathsFor(this.dirs);
    await net.detach(paths, this.id);
    const pin = net.netnsPath(paths, this.id);
    if (existsSync(pin)) net.removeNetns(pin);
    this.#netns = false;
  }

  async dispose(): Promise<void> {
    await runtime.remove(this.oci, this.id, true).catch(() => undefined);
    await this.#detach().catch(() => undefined);
    const r = this.#rootfs;
    this.#rootfs = undefined;
    if (r !== undefined) await r.cleanup();
    rmSync(containerDir(this.dirs, this.id), { recursive: true, force: true });
  }
}

function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

/** The pid of the build a build container belongs to, when `id` names one. */
export function builderPid(id: string): number | undefined {
  const pid = Number(/^leopard-build-(\d+)-[0-9a-f]+$/.exec(id)?.[1]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Build containers of builds still running, among the directories under the storage. */
export function liveBuildContainers(dirs: EngineDirs): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(containerDir(dirs, ""));
  } catch {
    // no container directory yet: no build is running
  }
  return names.filter((n) => {
    const pid = builderPid(n);
    return pid !== undefined && alive(pid);
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
