// The host's IPv4 routes from /proc/net/route, so a new network's subnet avoids the ones the
// host already reaches (its LAN, a VPN, another engine's bridge). Pure parsing plus one read.
import { readFileSync } from "node:fs";
import type { Subnet } from "./subnet.ts";

export interface HostRoute {
  iface: string;
  subnet: Subnet;
}

/** Destination and mask are little-endian hex; the default route (mask 0) is left out. */
export function parseProcRoutes(text: string): HostRoute[] {
  const out: HostRoute[] = [];
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const dst = Number.parseInt(f[1]!, 16);
    const mask = Number.parseInt(f[7]!, 16);
    if (!Number.isFinite(dst) || !Number.isFinite(mask) || mask === 0) continue;
    const swap = (n: number) =>
      (((n & 255) << 24) | (((n >>> 8) & 255) << 16) | (((n >>> 16) & 255) << 8) | (n >>> 24)) >>> 0;
    const m = swap(mask);
    let prefix = 0;
    while (prefix < 32 && m & (0x80000000 >>> prefix)) prefix++;
    out.push({ iface: f[0]!, subnet: { base: (swap(dst) & m) >>> 0, prefix } });
  }
  return out;
}

export function hostRoutes(): HostRoute[] {
  try {
    return parseProcRoutes(readFileSync("/proc/net/route", "utf8"));
  } catch {
    return [];
  }
}
