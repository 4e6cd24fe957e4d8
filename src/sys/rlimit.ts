// getrlimit/setrlimit, which Node and Bun do not expose.
import { check, libc } from "./libc.ts";

export const RLIMIT_NOFILE = 7;

export interface Limit {
  soft: bigint;
  hard: bigint;
}

export function getRlimit(resource: number): Limit {
  const r = new BigUint64Array(2);
  check(libc().getrlimit(resource, r), "getrlimit");
  return { soft: r[0]!, hard: r[1]! };
}

export function setRlimit(resource: number, l: Limit): void {
  const r = new BigUint64Array([l.soft, l.hard]);
  check(libc().setrlimit(resource, r), "setrlimit");
}
