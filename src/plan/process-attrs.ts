// The numbers behind the process attributes config.json names: sysctl paths, personality,
// I/O priority, scheduler policy and flags, and capabilities the running kernel lacks. Pure.
import { CAPABILITIES } from "../config/capabilities.ts";
import { sysctlComponents, sysctlProcPath } from "../config/sysctl.ts";
import { LeopardError } from "../util/errors.ts";
import type { PlanSpec } from "./types.ts";

/**
 * The file of a sysctl beneath /proc ("sys/net/ipv4/ip_forward"), built from the key's components
 * (src/config/sysctl.ts). Validation refused a key without valid components; one reaching here
 * anyway is a bug, not a path.
 */
export function sysctlPath(key: string): string {
  const split = sysctlComponents(key);
  if ("problem" in split)
    throw new LeopardError("invalid-spec", `sysctl ${JSON.stringify(key)} ${split.problem}`);
  return sysctlProcPath(split.components);
}

/** include/uapi/linux/personality.h */
const PERSONALITY_DOMAINS: Readonly<Record<string, number>> = { LINUX: 0x0000, LINUX32: 0x0008 };
const PERSONALITY_FLAGS: Readonly<Record<string, number>> = {
  UNAME26: 0x0020000,
  ADDR_NO_RANDOMIZE: 0x0040000,
  FDPIC_FUNCPTRS: 0x0080000,
  MMAP_PAGE_ZERO: 0x0100000,
  ADDR_COMPAT_LAYOUT: 0x0200000,
  READ_IMPLIES_EXEC: 0x0400000,
  ADDR_LIMIT_32BIT: 0x0800000,
  SHORT_INODE: 0x1000000,
  WHOLE_SECONDS: 0x2000000,
  STICKY_TIMEOUTS: 0x4000000,
  ADDR_LIMIT_3GB: 0x8000000,
};

/** personality(2)'s argument; flags this table does not know come back in `unknown` (runc ignores flags). */
export function personaValue(p: { domain: string; flags?: readonly string[] | undefined }): {
  persona: number;
  unknown: string[];
} {
  const domain = PERSONALITY_DOMAINS[p.domain];
  if (domain === undefined)
    throw new LeopardError("invalid-spec", `unknown personality domain "${p.domain}"`);
  let persona = domain;
  const unknown: string[] = [];
  for (const f of p.flags ?? []) {
    const bit = PERSONALITY_FLAGS[f];
    if (bit === undefined) unknown.push(f);
    else persona |= bit;
  }
  return { persona, unknown };
}

const IOPRIO_CLASSES: Readonly<Record<string, number>> = {
  IOPRIO_CLASS_RT: 1,
  IOPRIO_CLASS_BE: 2,
  IOPRIO_CLASS_IDLE: 3,
};

/** ioprio_set(2)'s packed value: class in the top 3 of 16 bits, the level below. */
export function ioprioValue(p: { class: string; priority: number }): number {
  const cls = IOPRIO_CLASSES[p.class];
  if (cls === undefined) throw new LeopardError("invalid-spec", `unknown I/O priority class "${p.class}"`);
  return (cls << 13) | p.priority;
}

/** include/uapi/linux/sched.h */
const SCHED_POLICIES: Readonly<Record<string, number>> = {
  SCHED_OTHER: 0,
  SCHED_FIFO: 1,
  SCHED_RR: 2,
  SCHED_BATCH: 3,
  SCHED_ISO: 4,
  SCHED_IDLE: 5,
  SCHED_DEADLINE: 6,
};
const SCHED_FLAGS: Readonly<Record<string, number>> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01,
  SCHED_FLAG_RECLAIM: 0x02,
  SCHED_FLAG_DL_OVERRUN: 0x04,
  SCHED_FLAG_KEEP_POLICY: 0x08,
  SCHED_FLAG_KEEP_PARAMS: 0x10,
  SCHED_FLAG_UTIL_CLAMP_MIN: 0x20,
  SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
};

export function schedPolicy(name: string): number {
  const n = SCHED_POLICIES[name];
  if (n === undefined) throw new LeopardError("invalid-spec", `unknown scheduler policy "${name}"`);
  return n;
}

export function schedFlags(names: readonly string[]): number {
  let flags = 0;
  for (const name of names) {
    const bit = SCHED_FLAGS[name];
    if (bit === undefined) throw new LeopardError("invalid-spec", `unknown scheduler flag "${name}"`);
    flags |= bit;
  }
  return flags;
}

/**
 * Capabilities the config names that the running kernel does not have (number > cap_last_cap).
 * runc ignores them with a warning rather than failing; so does leopard, and says which.
 */
export function capabilitiesBeyond(caps: PlanSpec["process"]["capabilities"], last: number): string[] {
  const out = new Set<string>();
  for (const set of [caps?.bounding, caps?.effective, caps?.permitted, caps?.inheritable, caps?.ambient]) {
    for (const name of set ?? []) if (CAPABILITIES.indexOf(name) > last) out.add(name);
  }
  return [...out];
}
