// The config.json `leopard-oci spec` writes: runc's `runc spec` (and `runc spec --rootless`)
// field for field, with leopard's ociVersion. Keys are in runc's order, so the JSON written
// with tabs reads exactly like runc's.

import { SYSTEM_PATH } from "../util/system-path.ts";
import type { ConfigJson, LinuxJson, MountJson, SeccompJson } from "./json.ts";

/** The runtime-spec version leopard writes and implements. */
export const OCI_VERSION = "1.2.0";

export interface DefaultSpecOptions {
  /** runc's --rootless: a user namespace mapping root to the caller, no network namespace, no cgroup settings. */
  rootless?: boolean;
  /** process.args; runc's default is ["sh"]. */
  args?: readonly string[];
  /** The host uid/gid root maps to when rootless; default: the effective ids of this process. */
  hostUid?: number;
  hostGid?: number;
  /**
   * `spec --hardened`: runc's default plus a seccomp profile, a capability set (docker's default,
   * with no inheritable or ambient capabilities), no_new_privs and docker's masked and read-only
   * paths. The caller supplies the profile and the capabilities (src/seccomp has them).
   */
  hardened?: { seccomp: SeccompJson; capabilities: readonly string[] };
}

/** docker's masked paths: runc's plus the powercap interface (energy readings leak host activity). */
const HARDENED_MASKED = ["/sys/devices/virtual/powercap"];

const CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

export function defaultSpec(opts: DefaultSpecOptions = {}): ConfigJson {
  const spec: ConfigJson = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: [...(opts.args ?? ["sh"])],
      env: [`PATH=${SYSTEM_PATH}`, "TERM=xterm"],
      cwd: "/",
      capabilities: { bounding: [...CAPS], effective: [...CAPS], permitted: [...CAPS], ambient: [...CAPS] },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    hostname: "runc",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      {
        destination: "/dev",
        type: "tmpfs",
        source: "tmpfs",
        options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
      },
      {
        destination: "/dev/pts",
        type: "devpts",
        source: "devpts",
        options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
      },
      {
        destination: "/dev/shm",
        type: "tmpfs",
        source: "shm",
        options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
      },
      {
        destination: "/dev/mqueue",
        type: "mqueue",
        source: "mqueue",
        options: ["nosuid", "noexec", "nodev"],
      },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
      {
        destination: "/sys/fs/cgroup",
        type: "cgroup",
        source: "cgroup",
        options: ["nosuid", "noexec", "nodev", "relatime", "ro"],
      },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: "rwm" }] },
      namespaces: [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }],
      maskedPaths: [
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/sys/firmware",
        "/proc/scsi",
      ],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
  };
  if (opts.hardened) harden(spec, opts.hardened);
  if (!opts.rootless) return spec;
  return toRootless(spec, opts.hostUid ?? process.geteuid?.() ?? 0, opts.hostGid ?? process.getegid?.() ?? 0);
}

function harden(spec: ConfigJson, h: NonNullable<DefaultSpecOptions["hardened"]>): void {
  const caps = [...h.capabilities];
  if (spec.process) {
    spec.process.capabilities = { bounding: [...caps], effective: [...caps], permitted: [...caps] };
    spec.process.noNewPrivileges = true;
  }
  const linux = spec.linux ?? {};
  linux.maskedPaths = [...(linux.maskedPaths ?? []), ...HARDENED_MASKED];
  linux.seccomp = h.seccomp;
  spec.linux = linux;
}

/**
 * What runc's --rootless does to a spec: a new user namespace with root mapped to the caller
 * (and no network namespace, which an unprivileged user could not configure), /sys
 * bind-mounted from the host (a new sysfs needs a network namespace of one's own), no uid=/gid=
 * mount options (those ids are not mapped), and no cgroup resources.
 */
function toRootless(spec: ConfigJson, hostUid: number, hostGid: number): ConfigJson {
  const linux = spec.linux ?? {};
  const namespaces = (linux.namespaces ?? []).filter((n) => n.type !== "network" && n.type !== "user");
  namespaces.push({ type: "user" });
  const mounts = (spec.mounts ?? []).map((m): MountJson => {
    if (m.destination.replace(/\/+$/, "") === "/sys") {
      return {
        destination: "/sys",
        type: "none",
        source: "/sys",
        options: ["rbind", "nosuid", "noexec", "nodev", "ro"],
      };
    }
    const { options, ...rest } = m;
    const kept = (options ?? []).filter((o) => !o.startsWith("uid=") && !o.startsWith("gid="));
    return kept.length > 0 ? { ...rest, options: kept } : rest;
  });
  const { resources: _dropped, namespaces: _replaced, ...others } = linux;
  const rootless: LinuxJson = {
    uidMappings: [{ containerID: 0, hostID: hostUid, size: 1 }],
    gidMappings: [{ containerID: 0, hostID: hostGid, size: 1 }],
    namespaces,
    ...others,
  };
  return { ...spec, mounts, linux: rootless };
}
