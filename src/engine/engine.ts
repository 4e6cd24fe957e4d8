// The engine: containers as people see them. Each command opens the shared state (the image
// store, the engine's database, the runtime's state directory), does its work with the runtime
// library in-process, and leaves: there is no daemon. Detached containers are watched by
// conmon; a foreground `run` needs no monitor.

import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { CAPABILITIES } from "../config/capabilities.ts";
import type { DeviceJson, SeccompJson } from "../config/json.ts";
import { fuseRootPid, startFuseRoot } from "../image/fuse-overlayfs.ts";
import { ensureImage, type PullOptions, prepareRootfs, runConfig } from "../image/index.ts";
import { mkdirLayered } from "../image/layered.ts";
import { parsePlatform } from "../image/oci.ts";
import { layeredKind, overlayAnnotation } from "../image/rootfs.ts";
import { Store } from "../image/store.ts";
import { writeIdMaps } from "../runtime/idmap-write.ts";
import { StateDir } from "../state/state.ts";
import { writeFileAtomic } from "../sys/fs.ts";
import { SYSTEM_PATH } from "../sys/host-tool.ts";
import { mark } from "../sys/trace.ts";
import { describe, LeopardError } from "../util/errors.ts";
import { engineRootless } from "../util/user-dirs.ts";
import type { ContainerConfig } from "./config.ts";
import { ENGINE } from "./conmon.ts";
import { type ContainerRecord, EngineDb } from "./db.ts";
import { containerDir, type EngineDirs, makeDirs, ociRoot } from "./dirs.ts";
import { CommandError } from "./errors.ts";
import { hostsFile, resolvConf } from "./etc-files.ts";
import { findExecutable, type RootView, readInRoot } from "./exe.ts";
import type { VolumeSpec } from "./flags.ts";
import { insertNamed, NAME, newId, randomName } from "./names.ts";
import type { RootlessNet } from "./network-types.ts";
import { callerRootlessIds, rootlessRootfsAsked } from "./rootless.ts";
import { portArg } from "./slirp.ts";
import { buildSpec, mergeEnv } from "./spec.ts";
import { resolveUser } from "./users.ts";
import { ANONYMOUS, anonymousVolume, copyUp, createVolume, systemVolume, volumePath } from "./volumes.ts";
import { mkdirInRoot } from "./workdir.ts";

export type PullPolicy = "missing" | "always" | "never";

/** What `create`/`run` ask for; undefined fields take the image's value. */
export interface CreateRequest
  extends Omit<
    ContainerConfig,
    "image" | "imageName" | "entrypoint" | "cmd" | "workingDir" | "user" | "hostname" | "stopSignal" | "env"
  > {
  image: string;
  pull: PullPolicy;
  platform?: string | undefined;
  name?: string | undefined;
  /** --entrypoint: "" clears the image's. */
  entrypoint?: string | undefined;
  cmd: string[];
  env: string[];
  workingDir?: string | undefined;
  user?: string | undefined;
  hostname?: string | undefined;
  stopSignal?: string | undefined;
  tlsVerify?: boolean | undefined;
}

export const CATATONIT = "/usr/bin/catatonit";

export class Engine {
  readonly store: Store;
  readonly db: EngineDb;
  readonly oci: StateDir;

  /** --debug: debugLine's lines go to stderr. */
  debug = false;

  constructor(readonly dirs: EngineDirs) {
    makeDirs(dirs);
    this.store = new Store(dirs.storage);
    this.db = new EngineDb(`${dirs.storage}/engine.db`);
    this.oci = new StateDir(ociRoot(dirs));
  }

  close(): void {
    this.db.close();
    this.store.close();
  }

  bundle(id: string): string {
    return containerDir(this.dirs, id);
  }

  async create(req: CreateRequest): Promise<ContainerRecord> {
    if (req.name !== undefined && !NAME.test(req.name))
      throw new LeopardError(
        "invalid-argument",
        `container name "${req.name}" is not valid: use [a-zA-Z0-9][a-zA-Z0-9_.-]*`,
      );
    if (req.name !== undefined && this.db.find(req.name) !== undefined) {
      throw new LeopardError(
        "exists",
        `the container name "${req.name}" is already in use; remove that container or choose another name`,
      );
    }
    for (const v of req.volumes) {
      if (!v.named && !existsSync(v.source))
        throw new LeopardError("not-found", `bind source path does not exist: ${v.source}`);
    }
    for (const d of req.devices) {
      if (!existsSync(d.host)) throw new LeopardError("not-found", `device "${d.host}" does not exist`);
    }
    await this.checkNetwork(req.network);
    if (req.init && !existsSync(CATATONIT))
      throw new LeopardError("not-found", `--init needs ${CATATONIT} (Debian package catatonit)`);
    const img =
      req.pull === "always"
        ? await (await import("../image/pull.ts")).pull(this.store, req.image, pullOpts(req))
        : req.pull === "never"
          ? this.store.find(req.image)
          : await ensureImage(this.store, req.image, pullOpts(req));
    if (!img)
      throw new LeopardError("not-found", `image "${req.image}" is not in the store and --pull is never`);
    mark("engine: image found");
    const rc = runConfig(this.store, img);
    const id = newId();
    const entrypoint =
      req.entrypoint === undefined ? rc.entrypoint : req.entrypoint === "" ? [] : [req.entrypoint];
    // docker: --entrypoint resets the image's Cmd too.
    const cmd = req.cmd.length > 0 ? req.cmd : req.entrypoint === undefined ? rc.cmd : [];
    if (entrypoint.length + cmd.length === 0)
      throw new LeopardError(
        "invalid-argument",
        `no command specified: image "${req.image}" has no Cmd or Entrypoint`,
      );
    const name = req.name ?? randomName((n) => this.db.find(n) !== undefined);
    const config: ContainerConfig = {
      ...req,
      image: img.id,
      imageName: req.image,
      entrypoint,
      cmd,
      env: mergeEnv(req.env, rc.env),
      workingDir: req.workingDir ?? rc.workingDir,
      user: req.user ?? rc.user,
      hostname: req.hostname ?? id.slice(0, 12),
      stopSignal: req.stopSignal ?? rc.stopSignal ?? "SIGTERM",
      labels: { ...rc.labels, ...req.labels },
      volumes: [...req.volumes],
    };
    // Rootless: the overlay is the runtime's to mount, in the container's user namespace.
    const rootfs = await prepareRootfs(this.store, img, id, {
      usernsOverlay: engineRootless(),
      rootless: rootlessRootfsAsked(),
      onFallback: (why) => this.debugLine(why),
    });
    mark(`engine: rootfs ${layeredKind(rootfs.kind) ? `made (${rootfs.kind})` : "mounted"}`);
    const view = this.rootView(id);
    const made: string[] = [];
    try {
      // The image's Volumes that the user did not mount become anonymous volumes; one over the
      // kernel's filesystems (/proc, /sys, /dev) would replace the default mounts: skipped, as
      // podman does, with a warning.
      for (const dest of rc.volumes) {
        if (systemVolume(dest)) {
          process.stderr.write(
            `leopard: warning: image "${req.image}" declares a volume at "${dest}", inside the kernel's ${systemVolume(dest)}; not mounted\n`,
          );
          continue;
        }
        if (!config.volumes.some((v) => v.destination === dest))
          config.volumes.push({ source: "", named: true, destination: dest, readonly: false });
      }
      const volumes: VolumeSpec[] = [];
      for (const v of config.volumes) {
        if (!v.named) {
          volumes.push(v);
          continue;
        }
        const rec =
          v.source === "" ? anonymousVolume(this.db, this.dirs) : createVolume(this.db, this.dirs, v.source);
        if (v.source === "") made.push(rec.name);
        const path = volumePath(this.dirs, rec.name);
        await copyUp(view, v.destination, path);
        volumes.push({ ...v, source: rec.name, hostPath: path });
      }
      config.volumes = volumes;
      const rec: ContainerRecord = {
        id,
        name,
        config,
        state: "created",
        pid: 0,
        exitCode: 0,
        created: new Date().toISOString(),
        startedAt: "",
        finishedAt: "",
        foreground: false,
        networks: {},
        restarts: 0,
      };
      if (config.workingDir !== "" && config.workingDir !== "/") {
        try {
          if (typeof view === "string") mkdirInRoot(view, config.workingDir);
          else mkdirLayered(view.layers, config.workingDir);
        } catch (e) {
          throw new LeopardError(
            "invalid-argument",
            `working directory "${config.workingDir}" cannot be made: ${describe(e)}`,
          );
        }
      }
      this.checkCommand(rec, view);
      rec.name = insertNamed(
        name,
        req.name !== undefined,
        (n) => this.db.insert({ ...rec, name: n }),
        () => randomName((n) => this.db.find(n) !== undefined),
      );
      return rec;
    } catch (e) {
      await rootfs.cleanup().catch(() => undefined);
      for (const v of made) {
        rmSync(`${this.dirs.storage}/volumes/${v}`, { recursive: true, force: true });
        this.db.removeVolume(v);
      }
      throw e;
    }
  }

  /**
   * The networks named must exist (the default one is made on first use), a container: one too.
   * Rootless, "pasta" and "slirp4netns" name the program that wires the container's own network
   * (as podman's modes): no network of that name is needed.
   */
  async checkNetwork(n: string): Promise<void> {
    if (n === "none" || n === "host") return;
    if ((n === "pasta" || n === "slirp4netns") && engineRootless()) return;
    if (n.startsWith("container:")) {
      this.db.get(n.slice("container:".length));
      return;
    }
    const { getNetwork } = await import("../network/index.ts");
    const { networkPathsFor } = await import("./network-cni.ts");
    for (const name of n.split(",")) await getNetwork(networkPathsFor(this.dirs), name);
  }

  rootfsPath(id: string): string {
    const r = this.store.meta.rootfs(id);
    if (!r) throw new LeopardError("not-found", `container ${id.slice(0, 12)} has no root filesystem`);
    return r.path;
  }

  /**
   * The root filesystem as the host can read it: its directory, or, for an overlay the runtime
   * mounts in the container's own namespaces (overlay-userns) or fuse-overlayfs mounts in its
   * own (fuse-overlayfs), its layers, upper first.
   */
  rootView(id: string): RootView {
    const r = this.store.meta.rootfs(id);
    if (!r) throw new LeopardError("not-found", `container ${id.slice(0, 12)} has no root filesystem`);
    if (!layeredKind(r.kind)) return r.path;
    const img = this.store.resolve(r.imageId);
    const dir = r.path.slice(0, r.path.lastIndexOf("/"));
    const layers = [`${dir}/upper`, ...[...img.chain].reverse().map((c) => this.store.snapshotPath(c))];
    return r.kind === "fuse-overlayfs" ? { layers, fuse: true } : { layers };
  }

  /** The annotation that has the runtime mount an overlay-userns root (undefined for others). */
  rootfsOverlay(id: string): string | undefined {
    const r = this.store.meta.rootfs(id);
    if (!layeredKind(r?.kind) || r === undefined) return undefined;
    const img = this.store.resolve(r.imageId);
    return overlayAnnotation(this.store, img.chain, r.path.slice(0, r.path.lastIndexOf("/")));
  }

  /**
   * A fuse-overlayfs root (src/image/fuse-overlayfs.ts): started, unless it runs already, before
   * the container starts; its pid (the container joins its namespaces), undefined for other roots.
   */
  async startRootMount(id: string): Promise<number | undefined> {
    const r = this.store.meta.rootfs(id);
    if (r?.kind !== "fuse-overlayfs") return undefined;
    const dir = r.path.slice(0, r.path.lastIndexOf("/"));
    const img = this.store.resolve(r.imageId);
    const lowerdir =
      overlayAnnotation(this.store, img.chain, dir).split(",")[0]?.slice("lowerdir=".length) ?? "";
    const ids = callerRootlessIds();
    const lines = (m: typeof ids.uidMappings): string =>
      m.map((x) => `${x.containerID} ${x.hostID} ${x.size}\n`).join("");
    const maps = { uid: lines(ids.uidMappings), gid: lines(ids.gidMappings) };
    const pid = await startFuseRoot({ dir, lowerdir, writeMaps: (p) => writeIdMaps(p, maps) });
    this.debugLine(`root filesystem: fuse-overlayfs (pid ${pid}) mounted ${r.path} in its own namespaces`);
    return pid;
  }

  /** With --debug (or LEOPARD_TRACE=1): a line on stderr about a choice made. */
  debugLine(line: string): void {
    mark(`engine: ${line}`);
    if (this.debug) process.stderr.write(`leopard: debug: ${line}\n`);
  }

  /** 127/126 before anything runs, as docker reports a missing or non-executable command. */
  checkCommand(rec: ContainerRecord, rootfs: RootView): void {
    const c = rec.config;
    const argv0 = c.init ? undefined : [...c.entrypoint, ...c.cmd][0];
    if (argv0 === undefined) return;
    const path = c.env.findLast((e) => e.startsWith("PATH="))?.slice(5) ?? SYSTEM_PATH;
    const r = findExecutable(rootfs, argv0, path, c.workingDir || "/");
    if (!r.found) throw new CommandError(r.code, r.why);
  }

  /** Writes config.json and the /etc files for the next start. */
  writeBundle(
    rec: ContainerRecord,
    netnsPath: string | undefined,
    addresses: string[],
    peers: { ip: string; names: string[] }[] = [],
    slirp: RootlessNet | undefined = undefined,
  ): void {
    const c = rec.config;
    const rootless = engineRootless();
    const dir = this.bundle(rec.id);
    const rootfs = this.rootfsPath(rec.id);
    const view = this.rootView(rec.id);
    const meta = this.store.meta.rootfs(rec.id);
    // fuse-overlayfs: started by prepareStart (startRootMount); the container joins its namespaces.
    const fuse =
      meta?.kind === "fuse-overlayfs"
        ? fuseRootPid(meta.path.slice(0, meta.path.lastIndexOf("/")))
        : undefined;
    if (meta?.kind === "fuse-overlayfs" && fuse === undefined)
      throw new LeopardError(
        "system",
        `the fuse-overlayfs of container ${rec.id.slice(0, 12)} is not running`,
      );
    const user = resolveUser(c.user, readInRoot(view, "/etc/passwd"), readInRoot(view, "/etc/group"));
    const etc = { hosts: `${dir}/hosts`, hostname: `${dir}/hostname`, resolv: `${dir}/resolv.conf` };
    writeFileAtomic(etc.hostname, `${c.hostname}\n`);
    writeFileAtomic(etc.hosts, hostsFile({ hostname: c.hostname, addresses, peers, extra: c.addHosts }));
    let hostResolv = "";
    try {
      hostResolv = readFileSync("/etc/resolv.conf", "utf8");
    } catch {
      // No /etc/resolv.conf on the host: the container gets --dns servers only, or an empty file.
    }
    writeFileAtomic(etc.resolv, resolvConf(hostResolv, c.dns, [], c.network === "host"));
    const spec = buildSpec(
      {
        ...c,
        volumes: c.volumes.map((v) =>
          v.named ? { ...v, source: v.hostPath ?? volumePath(this.dirs, v.source) } : v,
        ),
      },
      {
        id: rec.id,
        rootfs,
        user,
        etc,
        netnsPath,
        // Rootless: no cgroupsPath (the runtime makes one only where the user may write) and a
        // user namespace of the user's own and subordinate ids.
        cgroupsPath: rootless ? undefined : `${process.env["LEOPARD_CGROUP_PARENT"] ?? "/leopard"}/${rec.id}`,
        userns: rootless
          ? fuse !== undefined
            ? { path: `/proc/${fuse}/ns/user` }
            : callerRootlessIds()
          : undefined,
        loopbackUp:
          rootless && c.network !== "host"
            ? (Bun.which("ip", { PATH: SYSTEM_PATH }) ?? undefined)
            : undefined,
        slirpHook:
          slirp !== undefined
            ? {
                path: ENGINE,
                args: [
                  "leopard",
                  "--storage",
                  this.dirs.storage,
                  "--run",
                  this.dirs.run,
                  "slirp-hook",
                  rec.id,
                  slirp,
                  ...c.publish.map(portArg),
                ],
              }
            : undefined,
        defaultCaps: defaultCaps(),
        allCaps: boundingSet(),
        seccompFor: (caps) => seccompFor(caps),
        devices: c.devices.map((d) => deviceNode(d.host, d.container)),
        initPath: CATATONIT,
        rootfsOverlay: this.rootfsOverlay(rec.id),
        rootfsMountns: fuse !== undefined ? `/proc/${fuse}/ns/mnt` : undefined,
      },
    );
    writeFileSync(`${dir}/config.json`, JSON.stringify(spec));
  }

  /** Containers whose volumes include `name`. */
  volumeUsers(name: string): ContainerRecord[] {
    return this.db.all().filter((c) => c.config.volumes.some((v) => v.named && v.source === name));
  }

  anonymousVolumes(rec: ContainerRecord): string[] {
    return rec.config.volumes
      .filter((v) => v.named && this.db.volume(v.source)?.labels[ANONYMOUS] === "true")
      .map((v) => v.source);
  }
}

function pullOpts(req: CreateRequest): PullOptions {
  return {
    ...(req.platform !== undefined ? { platform: parsePlatform(req.platform) } : {}),
    ...(req.tlsVerify !== undefined ? { tlsVerify: req.tlsVerify } : {}),
  };
}

let caps: readonly string[] | undefined;
export function defaultCaps(): readonly string[] {
  caps ??= (require("../seccomp/default-profile.ts") as typeof import("../seccomp/default-profile.ts"))
    .DEFAULT_CAPABILITIES;
  return caps;
}

/** The capabilities in this process's bounding set (/proc/self/status CapBnd). */
export function boundingSet(): string[] {
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
  const mask = BigInt(`0x${m?.[1] ?? "0"}`);
  return CAPABILITIES.filter((_, i) => (mask >> BigInt(i)) & 1n);
}

export function seccompFor(c: readonly string[]): SeccompJson {
  const { defaultSeccompJson } =
    require("../seccomp/default-profile.ts") as typeof import("../seccomp/default-profile.ts");
  return defaultSeccompJson({ capabilities: c }) as unknown as SeccompJson;
}

function deviceNode(host: string, container: string): DeviceJson {
  const st = statSync(host);
  const rdev = st.rdev;
  const major = ((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
  const minor = (rdev & 0xff) | ((rdev >> 12) & ~0xff);
  const type = st.isCharacterDevice() ? "c" : st.isBlockDevice() ? "b" : undefined;
  if (type === undefined) throw new LeopardError("invalid-argument", `"${host}" is not a device`);
  return { path: container, type, major, minor, fileMode: st.mode & 0o777, uid: 0, gid: 0 };
}
