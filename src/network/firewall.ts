// A network's own iptables rules: masquerade of what its containers send out of the subnet, and
// FORWARD accepts for them (so they work where the policy is DROP, as on docker's hosts). One
// chain per bridge in each of nat and filter, `LEOPARD-<bridge>`, reached by one jump each.
//
// Why per network and not per container (what the bridge plugin's ipMasq and the firewall plugin
// do): those add and remove about twenty iptables calls to every container's start and stop, at
// ~8 ms each here, for rules that differ only in the /32 they match. The network's subnet says the
// same once. The rules outlive the containers and go with the network (removeNetwork, or prune
// for a network whose definition and bridge are both gone).
//
// When: the first attach after boot installs them (checking the jumps first, under a lock) and
// leaves a stamp, `<runDir>/firewall/<bridge>` holding the subnet, on the run directory's tmpfs,
// which a reboot empties with the rules. After that an attach costs nothing here. Rules flushed by
// hand or by a firewall reload are what `network check` reports and `network reload` puts back,
// as with podman's `network reload`.
// Planning is pure; the rest runs iptables.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { writeFileAtomic } from "../sys/fs.ts";
import { spawnTool, spawnToolSync } from "../sys/host-tool.ts";
import { LeopardError } from "../util/errors.ts";
import { join } from "../util/path.ts";
import type { NetworkInfo } from "./conflist.ts";
import { argAfter, iptables, iptablesSave, splitRule } from "./iptables.ts";
import { withLock } from "./lock.ts";
import type { NetworkPaths } from "./paths.ts";

export const CHAIN_PREFIX = "LEOPARD-";

export type Table = "nat" | "filter";

export interface Jump {
  table: Table;
  /** The rule without its chain operation: `-s … -j LEOPARD-x`. */
  rule: string[];
  chain: "POSTROUTING" | "FORWARD";
  /** Inserted first (ahead of a host's DROP rules) rather than appended. */
  first: boolean;
}

export interface FirewallPlan {
  /** iptables-restore --noflush input: declaring a chain there empties it, so reruns are exact. */
  restore: string;
  jumps: Jump[];
}

/** The chain of a bridge (interface names are at most 15 bytes: 23 < iptables' 28). */
export function chainOf(bridge: string): string {
  return `${CHAIN_PREFIX}${bridge}`;
}

export function firewallPlan(info: NetworkInfo): FirewallPlan {
  const chain = chainOf(info.bridge);
  const comment = ["-m", "comment", "--comment", `leopard network ${info.name}`];
  const restore = [
    "*nat",
    `:${chain} - [0:0]`,
    `-A ${chain} -d ${info.subnet} -j RETURN`,
    `-A ${chain} -d 224.0.0.0/4 -j RETURN`,
    `-A ${chain} -j MASQUERADE`,
    "COMMIT",
    "*filter",
    `:${chain} - [0:0]`,
    // Replies, and connections portmap's DNAT sent in, go to the containers; whatever they
    // start themselves goes out.
    `-A ${chain} -d ${info.subnet} -o ${info.bridge} -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j ACCEPT`,
    `-A ${chain} -s ${info.subnet} -i ${info.bridge} -j ACCEPT`,
    "COMMIT",
    "",
  ].join("\n");
  return {
    restore,
    jumps: [
      {
        table: "nat",
        chain: "POSTROUTING",
        rule: ["-s", info.subnet, ...comment, "-j", chain],
        first: false,
      },
      { table: "filter", chain: "FORWARD", rule: [...comment, "-j", chain], first: true },
    ],
  };
}

async function present(j: Jump): Promise<boolean> {
  const p = spawnTool(["iptables", "-w", "-t", j.table, "-C", j.chain, ...j.rule], {
    stdout: "ignore",
    stderr: "ignore",
  });
  return (await p.exited) === 0;
}

function install(plan: FirewallPlan): void {
  const r = spawnToolSync(["iptables-restore", "-w", "--noflush"], {
    stdin: new TextEncoder().encode(plan.restore),
    stdout: "ignore",
    stderr: "pipe",
  });
  if (r.exitCode !== 0)
    throw new LeopardError(
      "system",
      `iptables-restore of ${plan.jumps[0]?.rule.at(-1)}: ${r.stderr.toString().trim()}`,
    );
  for (const j of plan.jumps) {
    if (iptables(["-t", j.table, "-C", j.chain, ...j.rule])) continue;
    const op = j.first ? ["-I", j.chain, "1"] : ["-A", j.chain];
    if (!iptables(["-t", j.table, ...op, ...j.rule]))
      throw new LeopardError(
        "system",
        `iptables could not add the jump to ${j.rule.at(-1)} in ${j.table} ${j.chain}`,
      );
  }
}

function stampOf(paths: NetworkPaths, bridge: string): string {
  return join(paths.runDir, "firewall", bridge);
}

function stamped(paths: NetworkPaths, info: NetworkInfo): boolean {
  try {
    return readFileSync(stampOf(paths, info.bridge), "utf8") === info.subnet;
  } catch {
    return false;
  }
}

/** Whether both jumps are in place (two `iptables -C`, side by side). */
export async function firewallPresent(info: NetworkInfo): Promise<boolean> {
  return (await Promise.all(firewallPlan(info).jumps.map(present))).every(Boolean);
}

/**
 * Makes sure the network's rules were installed since boot: with the stamp, nothing runs;
 * otherwise, under a lock (concurrent first attaches never add a jump twice), they are checked,
 * installed when missing, and stamped.
 */
export async function ensureNetworkFirewall(paths: NetworkPaths, info: NetworkInfo): Promise<void> {
  if (stamped(paths, info)) return;
  mkdirSync(join(paths.runDir, "firewall"), { recursive: true, mode: 0o700 });
  await withLock(join(paths.runDir, "firewall", ".lock"), async () => {
    if (stamped(paths, info)) return;
    if (!(await firewallPresent(info))) install(firewallPlan(info));
    writeFileAtomic(stampOf(paths, info.bridge), info.subnet, 0o600);
  });
}

/** Installs the network's rules again (whatever is there is replaced), and stamps them. */
export async function reloadNetworkFirewall(paths: NetworkPaths, info: NetworkInfo): Promise<void> {
  mkdirSync(join(paths.runDir, "firewall"), { recursive: true, mode: 0o700 });
  await withLock(join(paths.runDir, "firewall", ".lock"), () => {
    install(firewallPlan(info));
    writeFileAtomic(stampOf(paths, info.bridge), info.subnet, 0o600);
  });
}

/** The bridges whose chain a table holds, and the jump rules to each (as iptables-save prints). */
export function firewallsIn(saveText: string): Map<string, string[][]> {
  const out = new Map<string, string[][]>();
  for (const line of saveText.split("\n")) {
    if (line.startsWith(`:${CHAIN_PREFIX}`)) {
      const bridge = line.slice(1 + CHAIN_PREFIX.length).split(" ")[0]!;
      if (!out.has(bridge)) out.set(bridge, []);
    }
  }
  for (const line of saveText.split("\n")) {
    if (!line.startsWith("-A ")) continue;
    const args = splitRule(line);
    const target = argAfter(args, "-j");
    if (target?.startsWith(CHAIN_PREFIX) && args[1] !== target)
      out.get(target.slice(CHAIN_PREFIX.length))?.push(args);
  }
  return out;
}

/** Bridges with a chain in nat or filter. */
export function firewallBridges(): string[] {
  const all = new Set<string>();
  for (const t of ["nat", "filter"]) for (const b of firewallsIn(iptablesSave(t)).keys()) all.add(b);
  return [...all].sort();
}

/**
 * Removes the jumps to, and the chains of, every bridge `which` accepts, and their stamps under
 * `runDir` when given. Quiet when absent; returns how many chains went.
 */
export function removeFirewalls(which: (bridge: string) => boolean, runDir?: string): number {
  let removed = 0;
  for (const table of ["nat", "filter"]) {
    for (const [bridge, jumps] of firewallsIn(iptablesSave(table))) {
      if (!which(bridge)) continue;
      for (const args of jumps) iptables(["-t", table, "-D", ...args.slice(1)]);
      iptables(["-t", table, "-F", chainOf(bridge)]);
      if (iptables(["-t", table, "-X", chainOf(bridge)])) removed++;
    }
  }
  if (runDir !== undefined) {
    const dir = join(runDir, "firewall");
    for (const b of existsSync(dir) ? readdirSync(dir) : [])
      if (which(b)) rmSync(join(dir, b), { force: true });
  }
  return removed;
}

/** Removes one network's rules and stamp (network rm). */
export function removeNetworkFirewall(paths: NetworkPaths, bridge: string): void {
  removeFirewalls((b) => b === bridge, paths.runDir);
}
