// leopard's container networking on the CNI plugins (Debian's containernetworking-plugins).
//
// The engine's API — everything takes the NetworkPaths from `networkPaths(options?)`:
//
//   networkPaths(o?: NetworkOptions): NetworkPaths
//       Directories and knobs; env LEOPARD_NETWORK_DIR, LEOPARD_IPAM_DIR, LEOPARD_RUN_DIR,
//       LEOPARD_CNI_PATH override the defaults (/var/lib/leopard/networks, /var/lib/leopard/ipam,
//       /run/leopard, /usr/lib/cni:/opt/cni/bin).
//
//   Networks (CNI conflists in configDir; the default network "leopard" on bridge leopard0 is
//   written on first use, subnet: the first free /24 of 10.89.0.0/16, normally 10.89.0.0/24):
//   listNetworks(p): Promise<Network[]>                      default first
//   getNetwork(p, name): Promise<Network>                    not-found error names it
//   createNetwork(p, {name, subnet?, gateway?}): Promise<Network>
//   removeNetwork(p, name, {inUse?(name) => ids}): Promise<void>   refused while in use
//   Network = { info: NetworkInfo {name, driver, bridge, subnet, gateway, ipamDir, created}, conflist }
//   A network's masquerade and FORWARD accepts are its own iptables chains, LEOPARD-<bridge>
//   (firewall.ts): installed by the first attach after boot, removed with the network;
//   reloadNetworkFirewall(p, info): Promise<void> puts them back after a flush (`network reload`).
//
//   A container's namespace (pinned at <runDir>/netns/<id>, lo up; `--network none` is just this):
//   createNetns(p, id): Promise<string>                      the path, for the OCI spec's
//                                                            linux.namespaces[network].path
//   removeNetns(path): void                                  tolerant; detach() calls it
//
//   attach(p, id, netnsPath, networks[], {portMappings?, ip?, aliases?}): Promise<Attachment[]>
//       CNI ADD per network (eth0, eth1, …), ports on the first; all-or-nothing: on failure the
//       added networks are DELeted and the namespace (if under <runDir>/netns) removed.
//       Attachment = {network, ifname, ip, prefixLength, gateway, mac, hostVeth}
//   detach(p, id): Promise<void>     DEL in reverse, then record and namespace go; no-op if none
//   check(p, id): Promise<void>      CNI CHECK of every network
//   attachments(p, id): Attachment[]; publishedPorts(p, id): PortMapping[]   (for inspect/port)
//   parsePublish("127.0.0.1:18080:80/tcp"): PortMapping
//
//   pruneNetworking(p, liveIds): Promise<PruneReport>   for `system prune`: DEL then sweep
//   findOrphans(p, liveIds): Promise<Orphans>           the same, read-only
export { type AttachOptions, attach, attachments, check, detach, publishedPorts } from "./attach.ts";
export { CniError } from "./cni.ts";
export { type Conflist, DEFAULT_NETWORK, type NetworkInfo } from "./conflist.ts";
export { reloadNetworkFirewall } from "./firewall.ts";
export { createNetns, netnsPath, removeNetns } from "./netns.ts";
export { findOrphans, type Orphans, type PruneReport, pruneNetworking } from "./orphans.ts";
export { type NetworkOptions, type NetworkPaths, networkPaths } from "./paths.ts";
export { parsePublish } from "./ports.ts";
export type { Attachment, PortMapping } from "./result.ts";
export {
  type CreateNetwork,
  createNetwork,
  getNetwork,
  listNetworks,
  type Network,
  type RemoveNetworkOptions,
  removeNetwork,
} from "./store.ts";
