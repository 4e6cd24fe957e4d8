// A process's privileges as the kernel reports them: its capability sets, no_new_privs and seccomp
// mode (/proc/PID/status), its LSM label (/proc/PID/attr/current), and this process's own
// securebits (prctl(2): no /proc file shows another process's).

import { LeopardError } from "../util/errors.ts";
import { IoError, readText } from "./io.ts";
import { libc } from "./libc.ts";

const PR_GET_SECUREBITS = 27;

export interface Privileges {
  /** The capability sets as /proc shows them: 16 hex digits each. */
  effective: string;
  permitted: string;
  inheritable: string;
  bounding: string;
  ambient: string;
  /** "0" or "1". */
  noNewPrivs: string;
  /** 0 disabled, 1 strict, 2 filter ("" where the kernel has no seccomp). */
  seccomp: string;
  /** The LSM's label of the process; "" where no LSM has one (attr/current: EINVAL). */
  label: string;
}

const STATUS_FIELDS = {
  effective: "CapEff",
  permitted: "CapPrm",
  inheritable: "CapInh",
  bounding: "CapBnd",
  ambient: "CapAmb",
  noNewPrivs: "NoNewPrivs",
  seccomp: "Seccomp",
} as const;

/** The fields of a /proc/PID/status text; throws naming a missing capability set or no_new_privs. */
export function parseStatus(text: string): Omit<Privileges, "label"> {
  const values = new Map<string, string>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) values.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  const field = (name: string, optional = false): string => {
    const v = values.get(name);
    if (v === undefined && !optional) throw new LeopardError("system", `/proc status has no ${name} line`);
    return v ?? "";
  };
  return {
    effective: field(STATUS_FIELDS.effective),
    permitted: field(STATUS_FIELDS.permitted),
    inheritable: field(STATUS_FIELDS.inheritable),
    bounding: field(STATUS_FIELDS.bounding),
    ambient: field(STATUS_FIELDS.ambient),
    noNewPrivs: field(STATUS_FIELDS.noNewPrivs),
    seccomp: field(STATUS_FIELDS.seccomp, true),
  };
}

/** The LSM label: attr/current without its trailing NUL and newline. */
function label(pid: number | "self"): string {
  try {
    return readText(`/proc/${pid}/attr/current`).replace(/\0?\n?$/, "");
  } catch (e) {
    // EINVAL: no LSM that labels processes. Anything else is not a label we can compare.
    if (e instanceof IoError && e.code === "EINVAL") return "";
    throw e;
  }
}

/** pid's privileges (or this process's); throws when /proc cannot tell them. */
export function privileges(pid: number | "self"): Privileges {
  return { ...parseStatus(readText(`/proc/${pid}/status`)), label: label(pid) };
}

/** This process's securebits (prctl PR_GET_SECUREBITS). */
export function ownSecurebits(): number {
  const bits = libc().prctl(PR_GET_SECUREBITS, 0n, 0n, 0n, 0n);
  if (bits < 0) throw new LeopardError("system", "prctl(PR_GET_SECUREBITS) failed");
  return bits;
}
