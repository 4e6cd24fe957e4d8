// Named networks through src/network (the CNI plugins): the container's namespace pinned under
// the run directory, CNI ADD on each of its networks with its published ports, and /etc/hosts
// entries between containers that share a network (both ways: a peer's hosts file is rewritten
// in place, so its bind mount sees the new name).
import { existsSync, writeFileSync } from "node:fs";
import {
  attach,
  createNetns,
  detach,
  type NetworkPaths,
  netnsPath,
  networkPaths,
  removeNetns,
} from "../network/index.ts";
import { join } from "../util/path.ts";
import type { ContainerRecord } from "./db.ts";
import type { EngineDirs } from "./dirs.ts";
import { hostsFile } from "./etc-files.ts";
import type { AttachedNetwork, NetworkHost } from "./network-types.ts";

/** Where the engine's networks live: <storage>/networks and /ipam, namespaces under the run dir. */
export function networkPathsFor(d: EngineDirs): NetworkPaths {
  const env = process.env;
  return networkPaths({
    configDir: env["LEOPARD_NETWORK_DIR"] ?? join(d.storage, "networks"),
    ipamDir: env["LEOPARD_IPAM_DIR"] ?? join(d.storage, "ipam"),
    runDir: env["LEOPARD_RUN_DIR"] ?? d.run,
  });
}

/** `--network none`: a namespace of its own with loopback up, pinned so it outlives nothing. */
export async function noneNetwork(engine: NetworkHost, rec: ContainerRecord): Promise<AttachedNetwork> {
  const p = networkPathsFor(engine.dirs);
  removeNetns(netnsPath(p, rec.id));
  return { netnsPath: await createNetns(p, rec.id), addresses: [], networks: {} };
}

export function removeNoneNetwork(engine: NetworkHost, rec: ContainerRecord): void {
  removeNetns(netnsPath(networkPathsFor(engine.dirs), rec.id));
}

export async function attachCni(engine: NetworkHost, rec: ContainerRecord): Promise<AttachedNetwork> {
  const p = networkPathsFor(engine.dirs);
  await detach(p, rec.id); // what a crashed run may have left
  const ns = await createNetns(p, rec.id);
  const names = rec.config.network.split(",").filter((n) => n !== "");
  const att = await attach(p, rec.id, ns, names, {
    portMappings: rec.config.publish.map((x) => ({
      hostPort: x.hostPort,
      containerPort: x.containerPort,
      protocol: x.protocol,
      ...(x.hostIP !== "" ? { hostIP: x.hostIP } : {}),
    })),
    aliases: [rec.name],
  });
  const networks: ContainerRecord["networks"] = {};
  for (const a of att)
    networks[a.network] = { ip: a.ip, mac: a.mac, gateway: a.gateway, interface: a.ifname };
  return { netnsPath: ns, addresses: att.map((a) => a.ip), networks, peers: peersOf(engine, rec, networks) };
}

export async function detachCni(engine: NetworkHost, rec: ContainerRecord): Promise<void> {
  await detach(networkPathsFor(engine.dirs), rec.id);
}

/** Running containers sharing a network with `rec`, by address and name. */
function peersOf(
  engine: NetworkHost,
  rec: ContainerRecord,
  mine: ContainerRecord["networks"],
): { ip: string; names: string[] }[] {
  const out: { ip: string; names: string[] }[] = [];
  for (const c of engine.db.all()) {
    if (c.id === rec.id || c.state !== "running") continue;
    for (const [n, r] of Object.entries(c.networks)) {
      if (mine[n] !== undefined) out.push({ ip: r.ip, names: [c.name, c.config.hostname] });
    }
  }
  return out;
}

/** Rewrites every running peer's /etc/hosts in place (its bind mount keeps the inode). */
export function updatePeerHosts(engine: NetworkHost): void {
  const running = engine.db.all().filter((c) => c.state === "running" && Object.keys(c.networks).length > 0);
  for (const c of running) {
    const file = `${engine.bundle(c.id)}/hosts`;
    if (!existsSync(file)) continue;
    const peers = peersOf(engine, c, c.networks);
    try {
      writeFileSync(
        file,
        hostsFile({
          hostname: c.config.hostname,
          addresses: Object.values(c.networks).map((r) => r.ip),
          peers,
          extra: c.config.addHosts,
        }),
      );
    } catch {
      // A peer that stopped meanwhile (its bundle removed) needs no hosts file; the others still get theirs.
    }
  }
}
