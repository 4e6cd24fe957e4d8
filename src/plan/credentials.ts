// The credential steps of a process, shared by a container's init (plan.ts) and exec
// (exec-plan.ts). The bounding set is dropped while still root (it needs CAP_SETPCAP); KEEPCAPS
// holds the permitted set across setuid; capset then sets the final sets. The kernel raises an
// ambient capability only if it is permitted and inheritable: runc warns and carries on for the
// others (its default spec lists ambient caps without inheritable ones), so only those are asked.
import { RLIMITS } from "../config/rlimits.ts";
import { LeopardError } from "../util/errors.ts";
import { capabilityMask } from "./capabilities.ts";
import { ownGidOnly } from "./rootless.ts";
import { q } from "./shell.ts";
import type { HostFacts, Step } from "./step.ts";
import type { PlanSpec } from "./types.ts";

const PR_SET_KEEPCAPS = 8;
const PR_SET_NO_NEW_PRIVS = 38;

/**
 * Whether the process may call setgroups: not for a user calling the runtime rootless with a gid
 * map of its own gid alone (the kernel denies setgroups there; newgidmap's maps allow it).
 */
export function setgroupsAllowed(host: HostFacts, spec: PlanSpec): boolean {
  return host.rootless === undefined || host.rootless.euid === 0 || !ownGidOnly(spec, host.rootless);
}

export function credentialSteps(proc: PlanSpec["process"], last: number, setgroups = true): Step[] {
  const caps = proc.capabilities;
  const mask = (names: readonly string[] | undefined): bigint => capabilityMask(names ?? [], last);
  const gids = proc.user.additionalGids ?? [];
  const packed = new Uint8Array(gids.length * 4);
  gids.forEach((g, i) => {
    new DataView(packed.buffer).setUint32(i * 4, g, true);
  });
  return [
    {
      op: { op: "CAP_BOUNDING", mask: mask(caps?.bounding), last },
      explain: `capsh --drop=<all but ${(caps?.bounding ?? []).length} bounding capabilities>`,
    },
    { op: { op: "PRCTL", option: PR_SET_KEEPCAPS, arg: 1 }, explain: "# keep capabilities across setuid" },
    ...(setgroups
      ? [{ op: { op: "SETGROUPS", gids: packed } as const, explain: `# setgroups [${gids.join(",")}]` }]
      : []),
    {
      op: { op: "SETID", uid: proc.user.uid, gid: proc.user.gid },
      explain: `setpriv --reuid=${proc.user.uid} --regid=${proc.user.gid}`,
    },
    {
      op: { op: "PRCTL", option: PR_SET_KEEPCAPS, arg: 0 },
      explain: "# stop keeping capabilities across setuid",
    },
    {
      op: {
        op: "CAPS",
        effective: mask(caps?.effective),
        permitted: mask(caps?.permitted),
        inheritable: mask(caps?.inheritable),
      },
      explain: "# capset: effective, permitted and inheritable sets as configured",
    },
    {
      op: {
        op: "CAP_AMBIENT",
        mask: mask(caps?.ambient) & mask(caps?.inheritable) & mask(caps?.permitted),
        last,
      },
      explain: "# ambient capabilities: those configured that are also permitted and inheritable",
    },
  ];
}

/**
 * The process's resource limits: the caller's open-file limit when the config sets none (the
 * runtime lowered its own around spawning the helper), then each configured one.
 */
export function rlimitSteps(
  proc: PlanSpec["process"],
  inheritedNofile: { soft: bigint; hard: bigint } | undefined,
): Step[] {
  const steps: Step[] = [];
  if (inheritedNofile && !(proc.rlimits ?? []).some((r) => r.type === "RLIMIT_NOFILE")) {
    steps.push({
      op: { op: "RLIMIT", resource: 7, soft: inheritedNofile.soft, hard: inheritedNofile.hard },
      explain: `prlimit --nofile=${inheritedNofile.soft}:${inheritedNofile.hard}   # the caller's own limit`,
    });
  }
  for (const r of proc.rlimits ?? []) {
    const n = (RLIMITS as Readonly<Record<string, number>>)[r.type];
    if (n === undefined) throw new LeopardError("invalid-spec", `unknown rlimit "${r.type}"`);
    steps.push({
      op: { op: "RLIMIT", resource: n, soft: BigInt(r.soft), hard: BigInt(r.hard) },
      explain: `prlimit --${r.type.slice(7).toLowerCase()}=${r.soft}:${r.hard}`,
    });
  }
  return steps;
}

/**
 * The working directory: chdir, then the CVE-2024-21626 check (getcwd must answer a path inside
 * the root). The check is a syscall the container's seccomp profile may deny, so the planners put
 * this step before the filter is installed: where finishingSteps has it when the filter comes
 * last (no_new_privs), right before the filter when that precedes the credentials.
 */
export function cwdStep(proc: PlanSpec["process"]): Step {
  return { op: { op: "CHDIR", path: proc.cwd }, explain: `cd ${q(proc.cwd)}` };
}

/**
 * After credentials: umask, working directory (unless `cwdEntered`: cwdStep already ran, before
 * the seccomp filter), no_new_privs, and no host fd past the preserved ones.
 */
export function finishingSteps(proc: PlanSpec["process"], preserveFds: number, cwdEntered = false): Step[] {
  const steps: Step[] = [];
  if (proc.user.umask !== undefined) {
    steps.push({
      op: { op: "UMASK", mask: proc.user.umask },
      explain: `umask ${proc.user.umask.toString(8).padStart(4, "0")}`,
    });
  }
  if (!cwdEntered) steps.push(cwdStep(proc));
  if (proc.noNewPrivileges) {
    steps.push({
      op: { op: "PRCTL", option: PR_SET_NO_NEW_PRIVS, arg: 1 },
      explain: "# no_new_privs: setuid binaries and file caps grant nothing",
    });
  }
  steps.push({
    op: { op: "CLOSE_FDS", from: 3 + preserveFds },
    explain: `# close-on-exec every fd from ${3 + preserveFds} up: no host fd reaches the container`,
  });
  return steps;
}
