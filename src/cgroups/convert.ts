// Unit conversions between the OCI resources (written in cgroup v1's terms) and cgroup v2's
// files, following the conventions runc and crun share.
import { LeopardError } from "../util/errors.ts";

/**
 * cpu.shares [2, 262144] (default 1024) → cpu.weight [1, 10000] (default 100). The curve is
 * the quadratic in log2(shares) current runc and crun use, which maps 2 → 1, 1024 → 100 and
 * 262144 → 10000 (the older linear formula mapped 1024 to 39). 0 means unset.
 */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  const l = Math.log2(shares);
  const exponent = (l * l + 125 * l) / 612 - 7 / 34;
  return Math.min(10000, Math.ceil(10 ** exponent));
}

/** blkio.weight [10, 1000] → io.weight [1, 10000], linearly (runc's formula). 0 means unset. */
export function blkioWeightToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/**
 * OCI memory.swap counts memory plus swap (v1's memsw); v2's memory.swap.max counts swap
 * alone. Returns the memory.swap.max value: a number, "max", or undefined (leave as is).
 */
export function swapToV2(swap: number | undefined, limit: number | undefined): number | "max" | undefined {
  if (swap === undefined) return undefined;
  if (swap === -1) return "max";
  if (limit === undefined || limit === -1) {
    throw new LeopardError(
      "invalid-argument",
      "linux.resources.memory.swap needs memory.limit on cgroup v2 (swap there is counted apart from memory)",
    );
  }
  if (swap < limit) {
    throw new LeopardError(
      "invalid-argument",
      `linux.resources.memory.swap ${swap} must not be less than memory.limit ${limit}`,
    );
  }
  return swap - limit;
}

/**
 * cpu.max "QUOTA PERIOD" from cpu.quota and cpu.period; undefined when neither is set. A quota
 * of -1 (or 0) is "max"; without a period only the quota is written and the kernel keeps its period.
 */
export function cpuMax(quota: number | undefined, period: number | undefined): string | undefined {
  if (quota === undefined && period === undefined) return undefined;
  const q = quota === undefined || quota <= 0 ? "max" : String(quota);
  return period === undefined || period === 0 ? q : `${q} ${period}`;
}

/** A v2 limit value: -1 → "max". */
export function v2Limit(n: number): string {
  return n === -1 ? "max" : String(n);
}
