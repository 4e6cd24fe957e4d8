// ContainerConfig → config.json: docker's defaults (its capability set, the default seccomp
// profile, masked and read-only paths, a private /dev/shm, generated /etc files) with the
// user's flags on top. Pure: everything read from the host or the image (the resolved user,
// device numbers, the seccomp profile, the network namespace) comes in through SpecContext.

import { CAPABILITIES } from "../config/capabilities.ts";
import { defaultSpec } from "../config/defaults.ts";
import type { ConfigJson, DeviceJson, MountJson, SeccompJson } from "../config/json.ts";
import { ROOTFS_MOUNTNS, ROOTFS_OVERLAY } from "../config/rootfs-overlay.ts";
import { SYSTEM_PATH } from "../sys/host-tool.ts";
import { LeopardError } from "../util/errors.ts";
import type { ContainerConfig } from "./config.ts";
import type { IdMapping } from "./rootless.ts";
import type { ResolvedUser } from "./users.ts";

export interface SpecContext {
  id: string;
  rootfs: string;
  user: ResolvedUser;
  /** The container's /etc/hosts, /etc/hostname and /etc/resolv.conf on the host. */
  etc: { hosts: string; hostname: string; resolv: string };
  /** The pinned network namespace to join; undefined: a new one (none) or the host's (host). */
  netnsPath?: string | undefined;
  /** undefined: no cgroupsPath (rootless: the runtime's own rules, src/cgroups/rootless.ts). */
  cgroupsPath: string | undefined;
  /**
   * Rootless, a network namespace of the container's own: the host's `ip`, run as a createContainer hook (in the container's
   * namespaces, before pivot_root) to bring loopback up, as the root engine's pinned namespace has it.
   */
  loopbackUp?: string | undefined;
  /** Rootless with a network of its own: the createRuntime hook that starts slirp4netns (src/engine/slirp.ts). */
  slirpHook?: { path: string; args: string[] } | undefined;
  /**
   * Rootless: a user namespace with these maps (src/engine/rootless.ts), or the one at `path`
   * (fuse-overlayfs's, which has the same maps: src/image/fuse-overlayfs.ts).
   */
  userns?: { uidMappings: IdMapping[]; gidMappings: IdMapping[] } | { path: string } | undefined;
  /** Default capabilities and seccomp profile (src/seccomp/default-profile.ts), resolved for the caps. */
  defaultCaps: readonly string[];
  /** What --privileged gets: every capability this process may pass on (its bounding set). */
  allCaps: readonly string[];
  seccompFor: (caps: readonly string[]) => SeccompJson;
  /** Host device nodes for --device, looked up by the caller. */
  devices: DeviceJson[];
  /**
   * Rootless: the root is an overlay the runtime mounts in the container's user namespace, these
   * directories (the annotation org.leopard.rootfs.overlay, src/config/rootfs-overlay.ts).
   */
  rootfsOverlay?: string | undefined;
  /** With rootfsOverlay: mounted already by fuse-overlayfs, in this mount namespace (org.leopard.rootfs.mountns). */
  rootfsMountns?: string | undefined;
  /** The static init binary bind-mounted for --init. */
  initPath?: string | undefined;
}

export const INIT_PATH = "/run/leopard-init";
const PATH_ENV = `PATH=${SYSTEM_PATH}`;

function capName(c: string): string {
  const u = c.toUpperCase();
  return u === "ALL" || u.startsWith("CAP_") ? u : `CAP_${u}`;
}

/** docker's arithmetic: start from the default set, add, then drop; "ALL" on either side. */
export function capabilities(
  base: readonly string[],
  add: readonly string[],
  drop: readonly string[],
): string[] {
  const a = add.map(capName);
  const d = drop.map(capName);
  for (const c of [...a, ...d]) {
    if (c !== "ALL" && !CAPABILITIES.includes(c))
      throw new LeopardError("invalid-argument", `unknown capability "${c}"`);
  }
  let set = a.includes("ALL") ? [...CAPABILITIES] : [...base, ...a.filter((c) => !base.includes(c))];
  if (d.includes("ALL")) set = a.filter((c) => c !== "ALL");
  else set = set.filter((c) => !d.includes(c));
  return [...new Set(set)].sort();
}

/** docker's merge: the user's -e values in their order, then the image's that they do not override. */
export function mergeEnv(user: readonly string[], image: readonly string[]): string[] {
  const key = (e: string) => (e.includes("=") ? e.slice(0, e.indexOf("=")) : e);
  const mine = new Set(user.map(key));
  return [...user, ...image.filter((e) => !mine.has(key(e)))];
}

/** The environment: PATH first unless given, then the image's, then the user's (later wins), HOSTNAME, HOME, TERM. */
export function containerEnv(c: ContainerConfig, home: string): string[] {
  const out = new Map<string, string>();
  const put = (kv: string) => {
    const i = kv.indexOf("=");
    out.set(i < 0 ? kv : kv.slice(0, i), kv);
  };
  put(PATH_ENV);
  put(`HOSTNAME=${c.hostname}`);
  for (const e of c.env) put(e);
  if (!out.has("HOME")) put(`HOME=${home}`);
  if (c.tty && !out.has("TERM")) put("TERM=xterm");
  return [...out.values()];
}

const PROPAGATION = new Set([
  "shared",
  "rshared",
  "private",
  "rprivate",
  "slave",
  "rslave",
  "unbindable",
  "runbindable",
]);

/** What an option collides with: exec/noexec are one flag, every propagation mode one, size=… one. */
function optionKey(o: string): string {
  if (PROPAGATION.has(o)) return "propagation";
  if (o.includes("=")) return o.slice(0, o.indexOf("="));
  if (o === "ro" || o === "rw") return "ro";
  return o.startsWith("no") && o !== "nodiratime" && o !== "noatime" ? o.slice(2) : o;
}

/**
 * A --tmpfs mount's options as docker's: noexec,nosuid,nodev,rprivate (and mode 1777) first,
 * then the user's; of two that collide the later wins (docker's MergeTmpfsOptions).
 */
export function tmpfsOptions(user: readonly string[]): string[] {
  const all = ["noexec", "nosuid", "nodev", "rprivate", "mode=1777", ...user.filter((o) => o !== "defaults")];
  const seen = new Set<string>();
  const out: string[] = [];
  for (let i = all.length - 1; i >= 0; i--) {
    const o = all[i] ?? "";
    const key = optionKey(o);
    if (seen.has(key)) continue;
    seen.add(key);
    out.unshift(o);
  }
  return out;
}

function bind(source: string, destination: string, ro: boolean, extra: string[] = []): MountJson {
  return {
    destination,
    type: "bind",
    source,
    options: ["rbind", "rprivate", ...(ro ? ["ro"] : []), "nosuid", "nodev", ...extra],
  };
}

export function buildSpec(c: ContainerConfig, ctx: SpecContext): ConfigJson {
  const argv = [...c.entrypoint, ...c.cmd];
  if (argv.length === 0)
    throw new LeopardError("invalid-argument", "no command specified (the image has none either)");
  const spec = defaultSpec({ args: argv });
  const caps = c.privileged ? [...ctx.allCaps] : capabilities(ctx.defaultCaps, c.capAdd, c.capDrop);
  const process = spec.process ?? { user: { uid: 0, gid: 0 }, cwd: "/" };
  process.terminal = c.tty;
  process.user = {
    uid: ctx.user.uid,
    gid: ctx.user.gid,
    ...(ctx.user.additionalGids.length > 0 ? { additionalGids: ctx.user.additionalGids } : {}),
  };
  process.env = containerEnv(c, ctx.user.home);
  process.cwd = c.workingDir === "" ? "/" : c.workingDir;
  // docker: no ambient or inheritable capabilities; effective = permitted = bounding for root.
  process.capabilities = { bounding: caps, effective: caps, permitted: caps };
  process.noNewPrivileges = c.noNewPrivileges;
  process.rlimits = c.ulimits.map((u) => ({ type: u.type, soft: u.soft, hard: u.hard }));
  if (process.rlimits.length === 0) delete process.rlimits;
  if (c.init) process.args = [INIT_PATH, "--", ...argv];
  spec.process = process;
  spec.hostname = c.hostname;
  spec.root = { path: ctx.rootfs, readonly: c.readOnly };

  const mounts = (spec.mounts ?? []).map((m): MountJson => {
    if (c.privileged && (m.destination === "/sys" || m.destination === "/sys/fs/cgroup"))
      return { ...m, options: (m.options ?? []).filter((o) => o !== "ro") };
    if (m.destination === "/sys" && ctx.netnsPath === undefined && c.network === "host")
      return {
        destination: "/sys",
        type: "bind",
        source: "/sys",
        options: ["rbind", "nosuid", "noexec", "nodev", "ro"],
      };
    return m;
  });
  mounts.push(bind(ctx.etc.hostname, "/etc/hostname", c.readOnly));
  mounts.push(bind(ctx.etc.hosts, "/etc/hosts", c.readOnly));
  mounts.push(bind(ctx.etc.resolv, "/etc/resolv.conf", c.readOnly));
  for (const t of c.tmpfs) {
    mounts.push({
      destination: t.destination,
      type: "tmpfs",
      source: "tmpfs",
      options: tmpfsOptions(t.options),
    });
  }
  for (const v of c.volumes) mounts.push(bind(v.source, v.destination, v.readonly));
  if (c.init && ctx.initPath) mounts.push(bind(ctx.initPath, INIT_PATH, true));
  // A later mount on the same destination wins, as in docker (a -v over /etc/hosts replaces ours).
  const seen = new Set<string>();
  spec.mounts = mounts
    .reverse()
    .filter((m) => !seen.has(m.destination) && seen.add(m.destination))
    .reverse();

  const linux = spec.linux ?? {};
  if (ctx.cgroupsPath !== undefined) linux.cgroupsPath = ctx.cgroupsPath;
  const namespaces = (linux.namespaces ?? []).filter((n) => n.type !== "network" && n.type !== "user");
  if (ctx.userns && "path" in ctx.userns) namespaces.push({ type: "user", path: ctx.userns.path });
  else if (ctx.userns) {
    namespaces.push({ type: "user" });
    linux.uidMappings = ctx.userns.uidMappings;
    linux.gidMappings = ctx.userns.gidMappings;
  }
  if (c.network !== "host") {
    namespaces.push(
      ctx.netnsPath === undefined ? { type: "network" } : { type: "network", path: ctx.netnsPath },
    );
  }
  linux.namespaces = namespaces;
  const resources: Record<string, unknown> = {
    devices: c.privileged
      ? [{ allow: true, access: "rwm" }]
      : [
          { allow: false, access: "rwm" },
          ...ctx.devices.map((d) => ({
            allow: true,
            type: d.type,
            major: d.major,
            minor: d.minor,
            access: c.devices.find((x) => x.container === d.path)?.access ?? "rwm",
          })),
        ],
  };
  if (c.memory !== undefined || c.memorySwap !== undefined) {
    resources["memory"] = {
      ...(c.memory !== undefined ? { limit: c.memory } : {}),
      // docker: --memory-swap is memory plus swap; -1 unlimited; unset: twice the memory.
      ...(c.memorySwap !== undefined
        ? { swap: c.memorySwap }
        : c.memory !== undefined
          ? { swap: c.memory * 2 }
          : {}),
    };
  }
  if (c.cpuQuota !== undefined || c.cpuShares !== undefined) {
    resources["cpu"] = {
      ...(c.cpuShares !== undefined ? { shares: c.cpuShares } : {}),
      ...(c.cpuQuota !== undefined ? { quota: c.cpuQuota, period: c.cpuPeriod ?? 100_000 } : {}),
    };
  }
  if (c.pidsLimit !== undefined) resources["pids"] = { limit: c.pidsLimit };
  linux.resources = resources as NonNullable<typeof linux.resources>;
  if (ctx.devices.length > 0) linux.devices = ctx.devices;
  if (Object.keys(c.sysctls).length > 0) linux.sysctl = { ...c.sysctls };
  if (c.privileged) {
    delete linux.maskedPaths;
    delete linux.readonlyPaths;
  } else {
    linux.maskedPaths = [...(linux.maskedPaths ?? []), "/sys/devices/virtual/powercap"];
    if (c.seccomp === "default") linux.seccomp = ctx.seccompFor(caps);
    else if (c.seccomp !== "unconfined") linux.seccomp = JSON.parse(c.seccomp) as SeccompJson;
  }
  spec.linux = linux;
  if (ctx.loopbackUp !== undefined && c.network !== "host")
    spec.hooks = {
      ...spec.hooks,
      createContainer: [{ path: ctx.loopbackUp, args: ["ip", "link", "set", "lo", "up"] }],
    };
  if (ctx.slirpHook !== undefined) spec.hooks = { ...spec.hooks, createRuntime: [ctx.slirpHook] };
  spec.annotations = { ...c.labels, "org.leopard.image": c.imageName };
  // The root overlay is the engine's to ask for (a --label of that name is not passed on).
  delete spec.annotations[ROOTFS_OVERLAY];
  delete spec.annotations[ROOTFS_MOUNTNS];
  if (ctx.rootfsOverlay !== undefined) spec.annotations[ROOTFS_OVERLAY] = ctx.rootfsOverlay;
  if (ctx.rootfsOverlay !== undefined && ctx.rootfsMountns !== undefined)
    spec.annotations[ROOTFS_MOUNTNS] = ctx.rootfsMountns;
  return spec;
}
