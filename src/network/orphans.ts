// Networking left behind by containers that are gone (a crashed engine command, a lost /run):
// pinned namespaces, CNI records, host-local reservations, iptables rules and chains, veths.
// `pruneNetworking` first runs DEL with the best configuration it has (the record; else the
// network's current list and an address from host-local), then sweeps whatever is still there.
import { existsSync, readdirSync, rmSync } from "node:fs";
import { spawnToolSync } from "../sys/host-tool.ts";
import { describe } from "../util/errors.ts";
import { join } from "../util/path.ts";
import { detach } from "./attach.ts";
import { delList } from "./cni.ts";
import { firewallBridges, removeFirewalls } from "./firewall.ts";
import {
  applyCleanup,
  argAfter,
  type CleanupPlan,
  commentOwner,
  iptablesSave,
  planCleanup,
  splitRule,
} from "./iptables.ts";
import { netnsPath, removeNetns } from "./netns.ts";
import type { NetworkPaths } from "./paths.ts";
import { deleteRecord, loadRecord, recordIds } from "./records.ts";
import { listNetworks, type Network, reservations } from "./store.ts";
import { contains, parseIp, parseSubnet } from "./subnet.ts";

export interface Orphans {
  /** Ids of gone containers with anything left. */
  containers: string[];
  netns: string[];
  records: string[];
  /** "network/ip" reserved by a gone container. */
  reservations: string[];
  veths: string[];
  iptables: CleanupPlan;
  /** Bridges with network rules (firewall.ts) whose network is not here and whose bridge is gone. */
  firewalls: string[];
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function ipLinks(
  netns?: string,
): { ifindex: number; ifname: string; master?: string; link_index?: number }[] {
  const argv = ["ip", "-j", "link", "show", "type", "veth"];
  const r = spawnToolSync(netns === undefined ? argv : ["nsenter", `--net=${netns}`, ...argv], {
    stdout: "pipe",
    stderr: "ignore",
  });
  try {
    return r.exitCode === 0 ? JSON.parse(r.stdout.toString() || "[]") : [];
  } catch {
    return [];
  }
}

/** Everything that belongs to no container in `live`. Reads only; see pruneNetworking. */
export async function findOrphans(paths: NetworkPaths, live: ReadonlySet<string>): Promise<Orphans> {
  const nets = await listNetworks(paths);
  const names = new Set(nets.map((n) => n.info.name));
  const subnets = nets.map((n) => parseSubnet(n.info.subnet));
  const ours = (ip: string) => {
    try {
      const n = parseIp(ip);
      return subnets.some((s) => contains(s, n));
    } catch {
      return false;
    }
  };
  const netns = listDir(paths.netnsDir).filter((id) => !live.has(id));
  const records = recordIds(paths).filter((id) => !live.has(id));
  const allRes = nets.flatMap((n) => reservations(n.info).map((r) => ({ ...r, network: n.info.name })));
  const res = allRes.filter((r) => !live.has(r.containerId));
  const liveIps = new Set(allRes.filter((r) => live.has(r.containerId)).map((r) => r.ip));
  const dead = new Set([...netns, ...records, ...res.map((r) => r.containerId)]);
  // Rules of gone containers known only to iptables count when their address is in our subnets
  // (another engine or leopard instance may share a network name, never a subnet): a masquerade
  // rule's `-s IP/32` (lists of earlier versions), or the DNAT target of portmap's chain.
  const nat = iptablesSave("nat");
  const natRules = nat
    .split("\n")
    .filter((l) => l.startsWith("-A "))
    .map(splitRule);
  const dnatTo = new Map<string, string[]>(); // chain → addresses it DNATs to
  for (const args of natRules) {
    const to = argAfter(args, "--to-destination");
    if (to !== undefined) dnatTo.set(args[1]!, [...(dnatTo.get(args[1]!) ?? []), to.split(":")[0]!]);
  }
  for (const args of natRules) {
    const owner = commentOwner(args);
    if (owner === undefined || !names.has(owner.network) || live.has(owner.id)) continue;
    const s = argAfter(args, "-s");
    const target = argAfter(args, "-j");
    const addrs = [
      ...(s?.endsWith("/32") ? [s.slice(0, -3)] : []),
      ...(target === undefined ? [] : (dnatTo.get(target) ?? [])),
    ];
    if (addrs.some(ours)) dead.add(owner.id);
  }
  const isDead = (id: string) => dead.has(id);
  const isStaleIp = (ip: string) => ours(ip) && !liveIps.has(ip);
  const natPlan = planCleanup("nat", nat, names, isDead, isStaleIp);
  const filterPlan = planCleanup("filter", iptablesSave("filter"), names, isDead, isStaleIp);
  for (const r of [...natPlan.rules, ...filterPlan.rules]) {
    const o = commentOwner(r.args);
    if (o !== undefined) dead.add(o.id);
  }
  // Host ends of veths on our bridges whose peer is in no live container's namespace.
  const bridges = new Set(nets.map((n) => n.info.bridge));
  const livePeers = new Set<number>();
  for (const id of live) {
    const p = netnsPath(paths, id);
    if (existsSync(p))
      for (const l of ipLinks(p)) if (l.link_index !== undefined) livePeers.add(l.link_index);
  }
  const veths = ipLinks()
    .filter((l) => l.master !== undefined && bridges.has(l.master) && !livePeers.has(l.ifindex))
    .map((l) => l.ifname);
  // A network's rules outlive its containers; they are orphans once neither a network here uses
  // the bridge nor the bridge exists (another store's network keeps its bridge between containers).
  const firewalls = firewallBridges().filter((b) => !bridges.has(b) && !existsSync(`/sys/class/net/${b}`));
  return {
    containers: [...dead].sort(),
    netns,
    records,
    reservations: res.map((r) => `${r.network}/${r.ip}`),
    veths,
    iptables: {
      rules: [...natPlan.rules, ...filterPlan.rules],
      chains: [...natPlan.chains, ...filterPlan.chains],
    },
    firewalls,
  };
}

export interface PruneReport {
  containers: string[];
  netns: number;
  reservations: number;
  rules: number;
  /** Chains, the networks' own (firewall.ts) included. */
  chains: number;
  veths: number;
  /** DELs that failed (the sweep still ran). */
  errors: string[];
}

/** DEL without a record: the network's current list and an address host-local still holds. */
async function delFromReservation(
  paths: NetworkPaths,
  net: Network,
  r: { ip: string; containerId: string; ifname: string },
): Promise<void> {
  const p = netnsPath(paths, r.containerId);
  const ns = existsSync(p) ? p : "";
  const prefix = parseSubnet(net.info.subnet).prefix;
  const prev = {
    cniVersion: net.conflist.cniVersion,
    interfaces: [{ name: r.ifname, ...(ns ? { sandbox: ns } : {}) }],
    ips: [{ address: `${r.ip}/${prefix}`, gateway: net.info.gateway, interface: 0 }],
  };
  await delList(
    net.conflist,
    {
      containerId: r.containerId,
      netns: ns,
      ifname: r.ifname || "eth0",
      pluginDirs: paths.pluginDirs,
      runtime: {},
    },
    prev,
  );
}

/**
 * Removes every trace of networking for containers not in `live` (the engine's full list,
 * stopped ones included). Safe to run while live containers keep running.
 */
export async function pruneNetworking(paths: NetworkPaths, live: Iterable<string>): Promise<PruneReport> {
  const liveSet = new Set(live);
  const before = await findOrphans(paths, liveSet);
  const errors: string[] = [];
  // 1. Proper DELs, while namespaces and links still exist (the bridge plugin finds the
  //    masquerade rules to remove through the container's interface).
  for (const id of before.records) {
    try {
      await detach(paths, id);
    } catch (e) {
      errors.push(describe(e));
    }
  }
  for (const n of await listNetworks(paths)) {
    for (const r of reservations(n.info)) {
      if (liveSet.has(r.containerId) || loadRecord(paths, r.containerId) !== undefined) continue;
      try {
        await delFromReservation(paths, n, r);
      } catch (e) {
        errors.push(describe(e));
      }
    }
  }
  // 2. Sweep what DEL could not reach.
  const after = await findOrphans(paths, liveSet);
  const ipt = applyCleanup(after.iptables);
  for (const id of after.netns) removeNetns(netnsPath(paths, id));
  for (const id of after.records) deleteRecord(paths, id);
  const nets = await listNetworks(paths);
  for (const nr of after.reservations) {
    const [network, ip] = nr.split("/") as [string, string];
    const info = nets.find((n) => n.info.name === network)?.info;
    if (info === undefined) continue;
    rmSync(join(info.ipamDir, network, ip), { force: true });
  }
  const fwChains = removeFirewalls((b) => after.firewalls.includes(b), paths.runDir);
  for (const v of after.veths)
    spawnToolSync(["ip", "link", "del", v], { stdout: "ignore", stderr: "ignore" });
  return {
    containers: [...new Set([...before.containers, ...after.containers])].sort(),
    netns: before.netns.length,
    reservations: before.reservations.length,
    rules: ipt.rules,
    chains: ipt.chains + fwChains,
    veths: after.veths.length,
    errors,
  };
}
