// Resource limit names and their numbers for setrlimit(2) (include/uapi/asm-generic/resource.h,
// the same on every Linux architecture leopard targets).

export const RLIMITS = {
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
} as const;

export type RlimitType = keyof typeof RLIMITS;

/** RLIM_INFINITY: no limit. config.json writes it as 18446744073709551615. */
export const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;

export function isRlimitType(name: string): name is RlimitType {
  return Object.hasOwn(RLIMITS, name);
}
