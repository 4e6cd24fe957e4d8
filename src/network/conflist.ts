// Network definitions as CNI configuration lists: generation for leopard's bridge networks, and
// reading one back (from disk or a container's record) into a summary. Pure.
import { LeopardError } from "../util/errors.ts";
import { formatIp, formatSubnet, parseIp, parseSubnet, type Subnet } from "./subnet.ts";

export const CNI_VERSION = "1.0.0";
/** The network containers join when none is named. */
export const DEFAULT_NETWORK = "leopard";
/** Names `--network` gives other meanings to. */
const RESERVED = new Set(["none", "host", "default"]);

export interface PluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

export interface Conflist {
  cniVersion: string;
  name: string;
  plugins: PluginConf[];
  /** leopard's own bookkeeping; CNI ignores unknown top-level keys of a list. */
  leopard?: { created: string };
}

export interface BridgeNetworkSpec {
  name: string;
  bridge: string;
  subnet: Subnet;
  gateway: number;
  /** host-local's dataDir: where it records one file per reserved address. */
  ipamDir: string;
  created: string;
}

/** What `network ls/inspect` and the engine see of a network. */
export interface NetworkInfo {
  name: string;
  driver: "bridge";
  bridge: string;
  subnet: string;
  gateway: string;
  ipamDir: string;
  created: string;
}

export function validateNetworkName(name: string): void {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/.test(name))
    throw new LeopardError(
      "invalid-argument",
      `network name "${name}" must be 1-63 letters, digits, "_", "." or "-", starting with a letter or digit`,
    );
  if (RESERVED.has(name)) throw new LeopardError("invalid-argument", `network name "${name}" is reserved`);
}

/**
 * The list for a bridge network: the bridge plugin (veth into the bridge, gateway address on the
 * bridge, host-local IPAM) and portmap for published ports (its default snat also sets
 * route_localnet on the bridge so 127.0.0.1:port works). Masquerade and forwarding are the
 * network's own rules (firewall.ts), not the bridge plugin's ipMasq or the firewall plugin, which
 * would add them per container. Loopback is brought up when the namespace is made, not by CNI.
 */
export function bridgeConflist(spec: BridgeNetworkSpec): Conflist {
  return {
    cniVersion: CNI_VERSION,
    name: spec.name,
    plugins: [
      {
        type: "bridge",
        bridge: spec.bridge,
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        // A requested address (`--ip`) reaches host-local as runtimeConfig.ips.
        capabilities: { ips: true },
        ipam: {
          type: "host-local",
          dataDir: spec.ipamDir,
          routes: [{ dst: "0.0.0.0/0" }],
          ranges: [[{ subnet: formatSubnet(spec.subnet), gateway: formatIp(spec.gateway) }]],
        },
      },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
    leopard: { created: spec.created },
  };
}

/**
 * The list one attachment runs (and keeps for its DEL): without portmap when it publishes no
 * ports, since portmap would only check its chains (a few iptables calls) to do nothing.
 */
export function attachList(c: Conflist, publishes: boolean): Conflist {
  return publishes ? c : { ...c, plugins: c.plugins.filter((p) => p.type !== "portmap") };
}

/** Whether the network's masquerade and forwarding are its own rules (lists leopard wrote). */
export function hasNetworkFirewall(c: Conflist): boolean {
  return c.leopard !== undefined;
}

/** Whether an attachment with this list leaves iptables rules of its own (commented with its id). */
export function leavesContainerRules(c: Conflist): boolean {
  return c.plugins.some(
    (p) => p.type === "portmap" || p.type === "firewall" || (p.type === "bridge" && p["ipMasq"] === true),
  );
}

function obj(x: unknown): Record<string, unknown> | undefined {
  return typeof x === "object" && x !== null && !Array.isArray(x)
    ? (x as Record<string, unknown>)
    : undefined;
}

/** Validates parsed JSON as a configuration list; `where` names it in errors. */
export function parseConflist(json: unknown, where: string): Conflist {
  const o = obj(json);
  const bad = (why: string) => new LeopardError("invalid-spec", `network config "${where}": ${why}`);
  if (o === undefined) throw bad("not a JSON object");
  if (typeof o["name"] !== "string") throw bad('"name" is missing');
  if (typeof o["cniVersion"] !== "string") throw bad('"cniVersion" is missing');
  const plugins = o["plugins"];
  if (!Array.isArray(plugins) || plugins.length === 0) throw bad('"plugins" is missing or empty');
  for (const [i, p] of plugins.entries()) {
    if (typeof obj(p)?.["type"] !== "string") throw bad(`plugin ${i} has no "type"`);
  }
  return o as unknown as Conflist;
}

/** The bridge plugin's host-local range, summarised; throws when the list has none. */
export function describeConflist(c: Conflist): NetworkInfo {
  const bridge = c.plugins.find((p) => p.type === "bridge");
  const ipam = obj(bridge?.["ipam"]);
  const range = obj((ipam?.["ranges"] as unknown[][] | undefined)?.[0]?.[0]);
  if (
    bridge === undefined ||
    ipam === undefined ||
    range === undefined ||
    typeof range["subnet"] !== "string"
  )
    throw new LeopardError(
      "invalid-spec",
      `network "${c.name}" has no bridge plugin with a host-local range`,
    );
  const subnet = parseSubnet(range["subnet"], { what: `network "${c.name}" subnet` });
  const gateway = typeof range["gateway"] === "string" ? parseIp(range["gateway"]) : subnet.base + 1;
  return {
    name: c.name,
    driver: "bridge",
    bridge: String(bridge["bridge"] ?? "cni0"),
    subnet: formatSubnet(subnet),
    gateway: formatIp(gateway),
    ipamDir: typeof ipam["dataDir"] === "string" ? ipam["dataDir"] : "/var/lib/cni/networks",
    created: c.leopard?.created ?? "",
  };
}

/** The smallest `${prefix}N` (N ≥ from) no existing network uses; interface names fit 15 bytes. */
export function nextBridgeName(prefix: string, used: ReadonlySet<string>, from = 1): string {
  for (let n = from; ; n++) {
    const name = `${prefix}${n}`;
    if (name.length > 15)
      throw new LeopardError(
        "invalid-argument",
        `bridge name prefix "${prefix}" leaves no room for a number`,
      );
    if (!used.has(name)) return name;
  }
}
