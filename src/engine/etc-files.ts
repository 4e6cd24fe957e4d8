// The files docker writes for every container and bind-mounts over the image's: /etc/hostname,
// /etc/hosts (localhost, the container's own name, peers on its networks, --add-host) and
// /etc/resolv.conf (the host's, minus loopback name servers a container cannot reach, or --dns).

import { LeopardError } from "../util/errors.ts";

export interface HostsInput {
  hostname: string;
  /** The container's own addresses (one per network). */
  addresses: readonly string[];
  /** Other containers on the same networks: address and names. */
  peers?: readonly { ip: string; names: readonly string[] }[];
  /** --add-host name:ip */
  extra?: readonly { name: string; ip: string }[];
}

export function hostsFile(h: HostsInput): string {
  const lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"];
  for (const e of h.extra ?? []) lines.push(`${e.ip}\t${e.name}`);
  for (const ip of h.addresses) lines.push(`${ip}\t${h.hostname}`);
  if (h.addresses.length === 0) lines.push(`127.0.1.1\t${h.hostname}`);
  for (const p of h.peers ?? []) lines.push(`${p.ip}\t${p.names.join(" ")}`);
  return `${lines.join("\n")}\n`;
}

const LOOPBACK_NS = /^\s*nameserver\s+(127\.|::1\b|0\.0\.0\.0)/;

/**
 * resolv.conf for the container: --dns servers when given, else the host's file without
 * loopback name servers (a resolver on the host's 127.0.0.53 is unreachable from another network
 * namespace); when nothing is left and the container has its own network, a public fallback is
 * not invented: the file is left without servers, as it is on the host.
 */
export function resolvConf(
  host: string,
  dns: readonly string[],
  searches: readonly string[] = [],
  sharesHostNet = false,
): string {
  if (dns.length > 0) {
    const lines = dns.map((d) => `nameserver ${d}`);
    if (searches.length > 0) lines.push(`search ${searches.join(" ")}`);
    return `${lines.join("\n")}\n`;
  }
  const kept = host
    .split("\n")
    .filter((l) => sharesHostNet || !LOOPBACK_NS.test(l))
    .join("\n")
    .trimEnd();
  return kept === "" ? "" : `${kept}\n`;
}

/** "--add-host name:ip" */
export function parseAddHost(v: string): { name: string; ip: string } {
  const i = v.indexOf(":");
  if (i <= 0 || i === v.length - 1)
    throw new LeopardError("invalid-argument", `--add-host "${v}": expected NAME:IP`);
  return { name: v.slice(0, i), ip: v.slice(i + 1) };
}
