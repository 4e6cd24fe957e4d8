// Attaching a container's namespace to networks (CNI ADD per network, in order), detaching it
// (DEL in reverse), checking it (CHECK). An attach either completes or leaves nothing: on any
// failure everything already added is deleted, the record removed and the namespace unpinned.
import { rmSync } from "node:fs";
import { describe, LeopardError } from "../util/errors.ts";
import { join } from "../util/path.ts";
import { addList, type CniCall, checkList, delList } from "./cni.ts";
import { attachList, describeConflist, hasNetworkFirewall, leavesContainerRules } from "./conflist.ts";
import { ensureNetworkFirewall, firewallPresent } from "./firewall.ts";
import { removeRulesOf } from "./iptables.ts";
import { withLock } from "./lock.ts";
import { ownsNetns, removeNetns } from "./netns.ts";
import { type NetworkPaths, validateContainerId } from "./paths.ts";
import { findCollision, probeHostPorts, validateMappings } from "./ports.ts";
import {
  type AttachmentRecord,
  type ContainerRecord,
  createRecord,
  deleteRecord,
  loadRecord,
  recordIds,
  saveRecord,
} from "./records.ts";
import { type Attachment, type PortMapping, type RuntimeValues, summarizeResult } from "./result.ts";
import { getNetwork, type Network } from "./store.ts";
import { contains, parseIp, parseSubnet } from "./subnet.ts";

export interface AttachOptions {
  /** Published ports; they go to the first network's portmap plugin. */
  portMappings?: PortMapping[];
  /** A fixed IPv4 address (`--ip`); needs exactly one network, and must lie in its subnet. */
  ip?: string;
  /** Extra names for the container (kept with the record; for /etc/hosts of its peers). */
  aliases?: string[];
}

function call(paths: NetworkPaths, id: string, netns: string, a: AttachmentRecord): CniCall {
  return { containerId: id, netns, ifname: a.ifname, pluginDirs: paths.pluginDirs, runtime: a.runtime };
}

/** Published ports of every other attached container. */
function publishedElsewhere(paths: NetworkPaths, self: string): { owner: string; mapping: PortMapping }[] {
  const out: { owner: string; mapping: PortMapping }[] = [];
  for (const id of recordIds(paths)) {
    if (id === self) continue;
    for (const a of loadRecord(paths, id)?.attachments ?? [])
      for (const m of a.runtime.portMappings ?? []) out.push({ owner: id, mapping: m });
  }
  return out;
}

async function resolve(
  paths: NetworkPaths,
  names: readonly string[],
  opts: AttachOptions,
): Promise<Network[]> {
  if (names.length === 0) throw new LeopardError("invalid-argument", "attach needs at least one network");
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new LeopardError("invalid-argument", `network "${dup}" is named twice`);
  const nets: Network[] = [];
  for (const n of names) nets.push(await getNetwork(paths, n));
  if (opts.ip !== undefined) {
    if (nets.length !== 1)
      throw new LeopardError(
        "invalid-argument",
        `address "${opts.ip}" needs exactly one network, not ${nets.length}`,
      );
    const info = nets[0]!.info;
    const addr = parseIp(opts.ip, "address");
    if (!contains(parseSubnet(info.subnet), addr) || opts.ip === info.gateway)
      throw new LeopardError(
        "invalid-argument",
        `address "${opts.ip}" is not a free host address of network "${info.name}" (${info.subnet})`,
      );
  }
  validateMappings(opts.portMappings ?? []);
  return nets;
}

/**
 * Runs CNI ADD for each network (interfaces eth0, eth1, … in the given order) into the pinned
 * namespace `netns` and returns what each gave. On failure: DEL of whatever was added, the record
 * and — when it is one of ours (under `<runDir>/netns/`) — the namespace are removed, and the
 * error names the network, plugin or port.
 */
export async function attach(
  paths: NetworkPaths,
  containerId: string,
  netns: string,
  networks: readonly string[],
  opts: AttachOptions = {},
): Promise<Attachment[]> {
  const rec: ContainerRecord = { containerId, netns, aliases: opts.aliases ?? [], attachments: [] };
  let recorded = false;
  let foreign = false; // the namespace belongs to an attach already done: never remove it
  try {
    validateContainerId(containerId);
    const nets = await resolve(paths, networks, opts);
    const maps = opts.portMappings ?? [];
    // Port checks and the record's creation under one lock: two attaches cannot both take a port.
    await withLock(join(paths.runDir, "ports.lock"), async () => {
      const clash = findCollision(maps, publishedElsewhere(paths, containerId));
      if (clash !== undefined) throw new LeopardError("exists", clash);
      await probeHostPorts(maps);
      try {
        createRecord(paths, rec);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EEXIST") {
          foreign = true;
          throw new LeopardError("exists", `container "${containerId}" is already attached to networks`);
        }
        throw e;
      }
      recorded = true;
    });
    // The networks' own rules, side by side with the plugins: installed by the first attach
    // after boot, nothing to do after that (firewall.ts).
    const firewalls = Promise.all(
      nets.filter((n) => hasNetworkFirewall(n.conflist)).map((n) => ensureNetworkFirewall(paths, n.info)),
    );
    firewalls.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
    const out: Attachment[] = [];
    for (const [i, net] of nets.entries()) {
      const runtime: RuntimeValues = {};
      const publishes = i === 0 && maps.length > 0;
      if (publishes) runtime.portMappings = maps;
      if (opts.ip !== undefined) runtime.ips = [opts.ip];
      if (opts.aliases !== undefined) runtime.aliases = { [net.info.name]: opts.aliases };
      const a: AttachmentRecord = {
        network: net.info.name,
        ifname: `eth${i}`,
        conflist: attachList(net.conflist, publishes),
        runtime,
      };
      rec.attachments.push(a);
      saveRecord(paths, rec); // before the ADD: a crash in it leaves a record prune can DEL
      a.result = await addList(a.conflist, call(paths, containerId, netns, a));
      saveRecord(paths, rec);
      out.push(summarizeResult(net.info.name, a.ifname, a.result));
    }
    await firewalls;
    return out;
  } catch (e) {
    // Roll back in reverse; each DEL tolerates what is already gone.
    for (const a of [...rec.attachments].reverse()) {
      try {
        await delList(a.conflist, call(paths, containerId, netns, a), a.result);
      } catch {
        // best effort: the caller sees the first error, and prune removes what a failed DEL left
      }
    }
    if (recorded) {
      removeLeftRules(rec);
      deleteRecord(paths, containerId);
    }
    if (!foreign && ownsNetns(paths, netns)) removeNetns(netns);
    throw e;
  }
}

/**
 * Removes the commented rules DEL left (see removeRulesOf), when any plugin of the container's
 * makes such rules: two iptables-save otherwise spared.
 */
function removeLeftRules(rec: ContainerRecord): void {
  const withRules = rec.attachments.filter((a) => leavesContainerRules(a.conflist));
  if (withRules.length > 0) removeRulesOf(rec.containerId, new Set(withRules.map((a) => a.network)));
}

/**
 * DEL for every network of the container, last first, then the record and the pinned namespace
 * go. Nothing attached is fine. When a DEL fails the record and namespace stay (for a retry or
 * prune) and the error is thrown.
 */
export async function detach(paths: NetworkPaths, containerId: string): Promise<void> {
  validateContainerId(containerId);
  if (loadRecord(paths, containerId) === undefined) return;
  // One detach of a container at a time: `rm -f` and conmon's exit command both detach a killed
  // container, and two DELs at once race (one deletes eth0 between the other's lookup and delete:
  // "failed to delete eth0: no such device"). The second finds the record gone and is done.
  const lock = join(paths.runDir, `detach-${containerId}.lock`);
  await withLock(lock, () => detachLocked(paths, containerId));
  rmSync(lock, { force: true });
}

async function detachLocked(paths: NetworkPaths, containerId: string): Promise<void> {
  const rec = loadRecord(paths, containerId);
  if (rec === undefined) return;
  const errors: string[] = [];
  for (const a of [...rec.attachments].reverse()) {
    try {
      await delList(a.conflist, call(paths, containerId, rec.netns, a), a.result);
    } catch (e) {
      errors.push(describe(e));
    }
  }
  if (errors.length > 0)
    throw new LeopardError("system", `detach container "${containerId}": ${errors.join("; ")}`);
  removeLeftRules(rec);
  if (ownsNetns(paths, rec.netns)) removeNetns(rec.netns);
  deleteRecord(paths, containerId);
}

/**
 * CNI CHECK for every network of the container, and the presence of each network's own rules;
 * throws the first failure.
 */
export async function check(paths: NetworkPaths, containerId: string): Promise<void> {
  validateContainerId(containerId);
  const rec = loadRecord(paths, containerId);
  if (rec === undefined)
    throw new LeopardError("not-found", `container "${containerId}" has no network attachments`);
  for (const a of rec.attachments) {
    await checkList(a.conflist, call(paths, containerId, rec.netns, a), a.result);
    if (hasNetworkFirewall(a.conflist) && !(await firewallPresent(describeConflist(a.conflist))))
      throw new LeopardError(
        "bad-state",
        `network "${a.network}": its masquerade and forwarding rules are missing (flushed?); "leopard network reload" puts them back`,
      );
  }
}

/** The container's attachments as last recorded (empty when none). */
export function attachments(paths: NetworkPaths, containerId: string): Attachment[] {
  const rec = loadRecord(paths, containerId);
  return (rec?.attachments ?? [])
    .filter((a) => a.result !== undefined)
    .map((a) => summarizeResult(a.network, a.ifname, a.result));
}

/** The container's published ports as recorded. */
export function publishedPorts(paths: NetworkPaths, containerId: string): PortMapping[] {
  return (loadRecord(paths, containerId)?.attachments ?? []).flatMap((a) => a.runtime.portMappings ?? []);
}
