// Network definitions on disk: `<configDir>/<name>.conflist`, written atomically under one lock
// (`<configDir>/.lock`) so two `network create` never pick the same subnet or bridge. The default
// network is written the first time anything asks for it.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { writeFileAtomic } from "../sys/fs.ts";
import { spawnToolSync } from "../sys/host-tool.ts";
import { LeopardError } from "../util/errors.ts";
import { join } from "../util/path.ts";
import {
  bridgeConflist,
  type Conflist,
  DEFAULT_NETWORK,
  describeConflist,
  type NetworkInfo,
  nextBridgeName,
  parseConflist,
  validateNetworkName,
} from "./conflist.ts";
import { removeNetworkFirewall } from "./firewall.ts";
import { withLock } from "./lock.ts";
import type { NetworkPaths } from "./paths.ts";
import { hostRoutes } from "./routes.ts";
import {
  formatSubnet,
  nextFreeSubnet,
  overlaps,
  parseIp,
  parseSubnet,
  type Subnet,
  validateGateway,
  validateNetworkSubnet,
} from "./subnet.ts";

export interface Network {
  info: NetworkInfo;
  conflist: Conflist;
}

function file(paths: NetworkPaths, name: string): string {
  return join(paths.configDir, `${name}.conflist`);
}

function readNetwork(path: string): Network {
  const conflist = parseConflist(JSON.parse(readFileSync(path, "utf8")), path);
  return { conflist, info: describeConflist(conflist) };
}

function readAll(paths: NetworkPaths): Network[] {
  let names: string[] = [];
  try {
    names = readdirSync(paths.configDir).filter((f) => f.endsWith(".conflist"));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  return names.sort().map((f) => readNetwork(join(paths.configDir, f)));
}

function locked<T>(paths: NetworkPaths, f: () => T | Promise<T>): Promise<T> {
  mkdirSync(paths.configDir, { recursive: true, mode: 0o700 });
  return withLock(join(paths.configDir, ".lock"), f);
}

/** Subnets a new network must avoid: other networks', and routes not on our own bridges. */
function takenSubnets(paths: NetworkPaths, nets: readonly Network[]): Subnet[] {
  const own = new RegExp(`^${paths.bridgePrefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}[0-9]+$`);
  return [
    ...nets.map((n) => parseSubnet(n.info.subnet)),
    ...hostRoutes()
      .filter((r) => !own.test(r.iface))
      .map((r) => r.subnet),
  ];
}

function write(
  paths: NetworkPaths,
  nets: readonly Network[],
  name: string,
  bridge: string,
  subnetArg?: string,
  gatewayArg?: string,
): Network {
  let subnet: Subnet;
  if (subnetArg !== undefined) {
    subnet = parseSubnet(subnetArg);
    validateNetworkSubnet(subnet);
    const clash = nets.find((n) => overlaps(parseSubnet(n.info.subnet), subnet));
    if (clash !== undefined)
      throw new LeopardError(
        "exists",
        `subnet "${formatSubnet(subnet)}" overlaps network "${clash.info.name}" (${clash.info.subnet})`,
      );
  } else {
    if (gatewayArg !== undefined) throw new LeopardError("invalid-argument", "--gateway needs --subnet");
    const free = nextFreeSubnet(parseSubnet(paths.subnetPool), 24, takenSubnets(paths, nets));
    if (free === undefined)
      throw new LeopardError(
        "exists",
        `no free /24 subnet left in the pool "${paths.subnetPool}"; give --subnet`,
      );
    subnet = free;
  }
  const gateway = gatewayArg === undefined ? subnet.base + 1 : parseIp(gatewayArg, "gateway");
  validateGateway(subnet, gateway);
  const conflist = bridgeConflist({
    name,
    bridge,
    subnet,
    gateway,
    ipamDir: paths.ipamDir,
    created: new Date().toISOString(),
  });
  mkdirSync(paths.ipamDir, { recursive: true, mode: 0o700 });
  writeFileAtomic(file(paths, name), `${JSON.stringify(conflist, null, 2)}\n`, 0o644);
  return { conflist, info: describeConflist(conflist) };
}

/** Writes the default network (bridge `<prefix>0`) if it is not there yet. */
async function ensureDefault(paths: NetworkPaths): Promise<void> {
  if (existsSync(file(paths, DEFAULT_NETWORK))) return;
  await locked(paths, () => {
    if (existsSync(file(paths, DEFAULT_NETWORK))) return;
    write(paths, readAll(paths), DEFAULT_NETWORK, `${paths.bridgePrefix}0`);
  });
}

/** Every network, the default one first. */
export async function listNetworks(paths: NetworkPaths): Promise<Network[]> {
  await ensureDefault(paths);
  const all = readAll(paths);
  return [
    ...all.filter((n) => n.info.name === DEFAULT_NETWORK),
    ...all.filter((n) => n.info.name !== DEFAULT_NETWORK),
  ];
}

export async function getNetwork(paths: NetworkPaths, name: string): Promise<Network> {
  if (name === DEFAULT_NETWORK) await ensureDefault(paths);
  const p = file(paths, name);
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name) || !existsSync(p))
    throw new LeopardError("not-found", `network "${name}" does not exist`);
  return readNetwork(p);
}

export interface CreateNetwork {
  name: string;
  /** CIDR; default: the next free /24 of the pool that no host route covers. */
  subnet?: string;
  /** Default: the subnet's first host address. */
  gateway?: string;
}

export async function createNetwork(paths: NetworkPaths, req: CreateNetwork): Promise<Network> {
  validateNetworkName(req.name);
  if (req.name !== DEFAULT_NETWORK) await ensureDefault(paths);
  return locked(paths, () => {
    if (existsSync(file(paths, req.name)))
      throw new LeopardError("exists", `network "${req.name}" already exists`);
    const nets = readAll(paths);
    const bridge = nextBridgeName(paths.bridgePrefix, new Set(nets.map((n) => n.info.bridge)));
    return write(paths, nets, req.name, bridge, req.subnet, req.gateway);
  });
}

/** Containers (ids) holding an address on the network, from host-local's reservation files. */
export function reservations(info: NetworkInfo): { ip: string; containerId: string; ifname: string }[] {
  const dir = join(info.ipamDir, info.name);
  let files: string[] = [];
  try {
    files = readdirSync(dir);
  } catch {
    return [];
  }
  const out: { ip: string; containerId: string; ifname: string }[] = [];
  for (const f of files) {
    if (!/^[0-9.]+$/.test(f)) continue; // lock, last_reserved_ip.0
    try {
      const [id = "", ifname = ""] = readFileSync(join(dir, f), "utf8").split(/\r?\n/);
      out.push({ ip: f, containerId: id.trim(), ifname: ifname.trim() });
    } catch {
      // removed by a concurrent DEL: no longer an allocation
    }
  }
  return out;
}

export interface RemoveNetworkOptions {
  /** The engine's view of containers configured on the network (stopped ones included). */
  inUse?: (network: string) => string[] | Promise<string[]>;
}

/**
 * Removes a network definition, its bridge, its iptables rules and its host-local directory. Refused for the default
 * network and while any container holds an address on it or the engine says it uses it.
 */
export async function removeNetwork(
  paths: NetworkPaths,
  name: string,
  opts: RemoveNetworkOptions = {},
): Promise<void> {
  if (name === DEFAULT_NETWORK)
    throw new LeopardError(
      "invalid-argument",
      `network "${name}" is the default network and cannot be removed`,
    );
  await locked(paths, async () => {
    const { info } = await getNetwork(paths, name);
    const users = new Set([
      ...reservations(info).map((r) => r.containerId),
      ...((await opts.inUse?.(name)) ?? []),
    ]);
    if (users.size > 0)
      throw new LeopardError(
        "bad-state",
        `network "${name}" is in use by container${users.size > 1 ? "s" : ""} ${[...users].map((u) => `"${u}"`).join(", ")}`,
      );
    rmSync(file(paths, name));
    rmSync(join(info.ipamDir, name), { recursive: true, force: true });
    deleteLink(info.bridge);
    removeNetworkFirewall(paths, info.bridge);
  });
}

/** `ip link del NAME`, quiet when it does not exist. */
export function deleteLink(name: string): void {
  spawnToolSync(["ip", "link", "del", name], { stdout: "ignore", stderr: "ignore" });
}
