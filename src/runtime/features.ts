// `leopard-oci features`: what this runtime supports, in the JSON shape of runc's `features`
// (the runtime-spec's features.md). Engines read it to decide what they may ask for, so every
// list comes from the code that implements it, never from a wish list.

import { CAPABILITIES } from "../config/capabilities.ts";
import {
  HOOK_NAMES,
  NAMESPACE_TYPES,
  SECCOMP_ACTIONS,
  SECCOMP_ARCHES,
  SECCOMP_FLAGS,
  SECCOMP_OPERATORS,
} from "../config/types.ts";
import { supportedMountOptions } from "../plan/mount-options.ts";
import { OCI_VERSION } from "../state/state.ts";
import { hasMountSetattr } from "../sys/mount-api.ts";

/** The spec versions a config.json may name. */
export const OCI_VERSION_MIN = "1.0.0";

export interface SeccompSupport {
  /** libseccomp's version, or undefined when the library is missing. */
  version: string | undefined;
  /** Whether libseccomp knows an architecture (by its OCI name). */
  knowsArch: (arch: string) => boolean;
}

export interface MountSupport {
  /** mount_setattr(2) (Linux 5.12): the recursive options (rro, ...) and idmapped mounts. */
  setattr: boolean;
}

/** The running kernel's, probed (a harmless call that fails with ENOSYS where it is missing). */
export function hostMountSupport(): MountSupport {
  return { setattr: hasMountSetattr() };
}

export function features(
  seccomp: SeccompSupport,
  mounts: MountSupport = hostMountSupport(),
): Record<string, unknown> {
  const enabled = seccomp.version !== undefined;
  return {
    ociVersionMin: OCI_VERSION_MIN,
    ociVersionMax: OCI_VERSION,
    hooks: [...HOOK_NAMES],
    mountOptions: supportedMountOptions(mounts.setattr),
    linux: {
      namespaces: [...NAMESPACE_TYPES].sort(),
      capabilities: [...CAPABILITIES],
      cgroup: { v1: true, v2: true, systemd: true, systemdUser: false, rdma: false },
      seccomp: {
        enabled,
        // SCMP_ACT_NOTIFY included: the listener goes to linux.seccomp.listenerPath.
        actions: [...SECCOMP_ACTIONS],
        operators: [...SECCOMP_OPERATORS],
        archs: enabled ? SECCOMP_ARCHES.filter((a) => seccomp.knowsArch(a)) : [],
        knownFlags: [...SECCOMP_FLAGS],
        supportedFlags: enabled ? [...SECCOMP_FLAGS] : [],
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      // Idmapped bind mounts (uidMappings/gidMappings, idmap/ridmap) came with mount_setattr.
      mountExtensions: { idmap: { enabled: mounts.setattr } },
    },
    annotations: seccomp.version ? { "io.github.seccomp.libseccomp.version": seccomp.version } : {},
  };
}

/** The host's libseccomp, loaded only to answer. */
export async function hostSeccompSupport(): Promise<SeccompSupport> {
  try {
    const lib = await import("../seccomp/libseccomp.ts");
    const { archName } = await import("../seccomp/compile.ts");
    return {
      version: lib.libseccompVersion(),
      knowsArch: (a) => lib.archToken(archName(a as (typeof SECCOMP_ARCHES)[number])) !== 0,
    };
  } catch {
    return { version: undefined, knowsArch: () => false };
  }
}
