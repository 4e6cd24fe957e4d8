// IPv4 addresses and subnets as numbers: parsing, overlap, the next free subnet of a pool.
// Pure; every function throws a LeopardError naming the bad value.
import { LeopardError } from "../util/errors.ts";

export interface Subnet {
  /** Network address as an unsigned 32-bit number (host bits cleared). */
  base: number;
  prefix: number;
}

/** "10.89.0.7" → number; throws on anything else. */
export function parseIp(s: string, what = "address"): number {
  const parts = s.split(".");
  if (parts.length !== 4) throw new LeopardError("invalid-argument", `${what} "${s}" is not an IPv4 address`);
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255)
      throw new LeopardError("invalid-argument", `${what} "${s}" is not an IPv4 address`);
    n = n * 256 + Number(p);
  }
  return n;
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/**
 * "10.89.0.0/24" → Subnet. Host bits must be zero unless loose is set (then they are
 * cleared: "10.89.0.5/24" → 10.89.0.0/24).
 */
export function parseSubnet(s: string, opts: { loose?: boolean; what?: string } = {}): Subnet {
  const what = opts.what ?? "subnet";
  const m = /^([0-9.]+)\/([0-9]{1,2})$/.exec(s);
  if (m === null)
    throw new LeopardError("invalid-argument", `${what} "${s}" is not an IPv4 CIDR (like 10.90.0.0/24)`);
  const prefix = Number(m[2]);
  if (prefix > 32) throw new LeopardError("invalid-argument", `${what} "${s}" has a prefix length over 32`);
  let ip: number;
  try {
    ip = parseIp(m[1]!, what);
  } catch {
    throw new LeopardError("invalid-argument", `${what} "${s}" is not an IPv4 CIDR (like 10.90.0.0/24)`);
  }
  const base = (ip & mask(prefix)) >>> 0;
  if (base !== ip && !opts.loose)
    throw new LeopardError(
      "invalid-argument",
      `${what} "${s}" has host bits set (the network is ${formatSubnet({ base, prefix })})`,
    );
  return { base, prefix };
}

export function formatSubnet(s: Subnet): string {
  return `${formatIp(s.base)}/${s.prefix}`;
}

export function size(s: Subnet): number {
  return 2 ** (32 - s.prefix);
}

export function contains(s: Subnet, ip: number): boolean {
  return (ip & mask(s.prefix)) >>> 0 === s.base;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return (a.base & mask(p)) >>> 0 === (b.base & mask(p)) >>> 0;
}

/** The addresses host-local can hand out: everything but network, gateway and broadcast. */
export function validateGateway(s: Subnet, gw: number): void {
  if (!contains(s, gw) || gw === s.base || gw === s.base + size(s) - 1)
    throw new LeopardError(
      "invalid-argument",
      `gateway "${formatIp(gw)}" is not a host address in subnet "${formatSubnet(s)}"`,
    );
}

/** A subnet usable for a bridge network: small enough to hold a gateway and a container. */
export function validateNetworkSubnet(s: Subnet): void {
  if (s.prefix > 30 || s.prefix < 8)
    throw new LeopardError(
      "invalid-argument",
      `subnet "${formatSubnet(s)}" must have a prefix length between /8 and /30`,
    );
}

/**
 * The first /`prefix` subnet inside pool that overlaps none of taken; undefined when the pool is
 * exhausted.
 */
export function nextFreeSubnet(pool: Subnet, prefix: number, taken: readonly Subnet[]): Subnet | undefined {
  if (prefix < pool.prefix) return undefined;
  const step = 2 ** (32 - prefix);
  const end = pool.base + size(pool);
  for (let base = pool.base; base < end; base += step) {
    const cand = { base, prefix };
    if (!taken.some((t) => overlaps(t, cand))) return cand;
  }
  return undefined;
}
