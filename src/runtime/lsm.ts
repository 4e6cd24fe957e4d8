// AppArmor and SELinux fields of config.json against what the host has. runc's behaviour,
// mirrored: a process label (selinuxLabel) on a host without SELinux is refused at create
// ("selinux label is specified in config, but selinux is disabled or not supported"); an
// apparmorProfile on a host without AppArmor fails too (runc's write to attr/apparmor/exec fails
// inside init; leopard says so before anything is created). The mount label only decorates
// mounts; without SELinux it is skipped with a warning, never silently.
import { existsSync, readFileSync } from "../sys/fs-sync.ts";
import { LeopardError } from "../util/errors.ts";

export interface LsmHost {
  apparmor: boolean;
  selinux: boolean;
}

/** What this host has enabled (runc's tests: the securityfs directory plus the module parameter; selinuxfs). */
export function lsmHost(): LsmHost {
  let apparmor = false;
  if (existsSync("/sys/kernel/security/apparmor")) {
    try {
      apparmor = readFileSync("/sys/module/apparmor/parameters/enabled", "utf8").startsWith("Y");
    } catch {
      apparmor = false;
    }
  }
  const selinux = existsSync("/sys/fs/selinux/enforce");
  return { apparmor, selinux };
}

export interface LsmFields {
  apparmorProfile?: string | undefined;
  selinuxLabel?: string | undefined;
  mountLabel?: string | undefined;
}

export interface LsmPlan {
  /** Writes the helper does just before execve. */
  lsmExec: { path: string; data: string }[];
  /** linux.mountLabel when the host has SELinux: context= on the container's mounts. */
  mountLabel?: string;
  warnings: string[];
}

/** Throws when the config asks for an LSM the host lacks; otherwise the attr writes to plan. */
export function planLsm(fields: LsmFields, host: LsmHost): LsmPlan {
  const out: LsmPlan = { lsmExec: [], warnings: [] };
  const profile = fields.apparmorProfile ?? "";
  if (profile !== "") {
    if (!host.apparmor) {
      throw new LeopardError(
        "unsupported",
        `process.apparmorProfile "${profile}" is set but AppArmor is not enabled on this host`,
      );
    }
    out.lsmExec.push({ path: "thread-self/attr/apparmor/exec", data: `exec ${profile}` });
  }
  const label = fields.selinuxLabel ?? "";
  if (label !== "") {
    if (!host.selinux) {
      throw new LeopardError(
        "unsupported",
        `process.selinuxLabel "${label}" is set but SELinux is disabled or not supported on this host`,
      );
    }
    out.lsmExec.push({ path: "thread-self/attr/exec", data: label });
  }
  const mountLabel = fields.mountLabel ?? "";
  if (mountLabel !== "" && !host.selinux) {
    out.warnings.push(`linux.mountLabel "${mountLabel}" is ignored: SELinux is not enabled on this host`);
  } else if (mountLabel !== "") {
    out.mountLabel = mountLabel;
  }
  return out;
}
