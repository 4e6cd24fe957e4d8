// Finding the iptables rules and chains the CNI plugins left for containers that are gone.
// The bridge plugin's masquerade chain and portmap's DNAT chain are jumped to by rules commented
// `name: "<network>" id: "<container>"` (portmap prefixes "dnat "/"snat "); the firewall plugin's
// rules carry no comment, only the container's address (`-s/-d IP/32` in CNI-FORWARD).
// Parsing and planning are pure; apply() runs iptables.

import { spawnToolSync } from "../sys/host-tool.ts";

export interface RuleRef {
  table: string;
  /** The rule as iptables-save prints it, split into arguments, starting with "-A". */
  args: string[];
}

export interface CleanupPlan {
  rules: RuleRef[];
  chains: { table: string; chain: string }[];
}

/** Splits an iptables-save rule line into arguments (double quotes, backslash escapes). */
export function splitRule(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "\\" && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (c === '"') {
      quoted = !quoted;
      inWord = true;
    } else if (c === " " && !quoted) {
      if (inWord) out.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

/** The network and container a CNI comment names, if any. */
export function commentOwner(args: readonly string[]): { network: string; id: string } | undefined {
  const i = args.indexOf("--comment");
  const m = i < 0 ? null : /name: "([^"]+)" id: "([^"]+)"/.exec(args[i + 1] ?? "");
  return m === null ? undefined : { network: m[1]!, id: m[2]! };
}

/** The argument after `flag` in a split rule (`-j` → its target), if the flag is there. */
export function argAfter(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

/**
 * What to delete from one table's iptables-save text: rules whose comment names one of
 * `networks` and a container `isDead` says is gone; the CNI-* chains those rules jump to (when
 * no surviving rule jumps there); and CNI-FORWARD rules for a /32 `isStaleIp` accepts.
 */
export function planCleanup(
  table: string,
  saveText: string,
  networks: ReadonlySet<string>,
  isDead: (id: string) => boolean,
  isStaleIp: (ip: string) => boolean,
): CleanupPlan {
  const rules = saveText
    .split("\n")
    .filter((l) => l.startsWith("-A "))
    .map((l) => splitRule(l));
  const doomed = new Set<string[]>();
  for (const r of rules) {
    const owner = commentOwner(r);
    if (owner !== undefined && networks.has(owner.network) && isDead(owner.id)) doomed.add(r);
    if (r[1] === "CNI-FORWARD" && owner === undefined) {
      const addr = argAfter(r, "-d") ?? argAfter(r, "-s");
      const ip = addr?.endsWith("/32") ? addr.slice(0, -3) : undefined;
      if (ip !== undefined && isStaleIp(ip)) doomed.add(r);
    }
  }
  const targets = new Set<string>();
  for (const r of doomed) {
    const t = argAfter(r, "-j");
    if (t?.startsWith("CNI-") && t !== "CNI-HOSTPORT-SETMARK" && t !== "CNI-HOSTPORT-MASQ") targets.add(t);
  }
  // A chain stays while a rule we keep still jumps to it.
  for (const r of rules) {
    if (doomed.has(r)) continue;
    const t = argAfter(r, "-j");
    if (t !== undefined) targets.delete(t);
  }
  return {
    rules: [...doomed].map((args) => ({ table, args })),
    chains: [...targets].map((chain) => ({ table, chain })),
  };
}

/** `iptables -w ARGS`; whether it succeeded. */
export function iptables(args: string[]): boolean {
  return spawnToolSync(["iptables", "-w", ...args], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
}

export function iptablesSave(table: string): string {
  const r = spawnToolSync(["iptables-save", "-t", table], { stdout: "pipe", stderr: "ignore" });
  return r.exitCode === 0 ? r.stdout.toString() : "";
}

/** Deletes the rules, then flushes and deletes the chains; returns how many of each went. */
export function applyCleanup(plan: CleanupPlan): { rules: number; chains: number } {
  let rules = 0;
  let chains = 0;
  for (const r of plan.rules) if (iptables(["-t", r.table, "-D", ...r.args.slice(1)])) rules++;
  for (const c of plan.chains) {
    iptables(["-t", c.table, "-F", c.chain]);
    if (iptables(["-t", c.table, "-X", c.chain])) chains++;
  }
  return { rules, chains };
}

/**
 * Removes the commented rules and chains one container left on the given networks. DEL usually
 * leaves none, but the bridge plugin finds its masquerade rules through the container's
 * interface, so it misses them when the interface or namespace is already gone.
 */
export function removeRulesOf(containerId: string, networks: ReadonlySet<string>): void {
  for (const table of ["nat", "filter"]) {
    const text = iptablesSave(table);
    if (!text.includes(`id: \\"${containerId}\\"`)) continue;
    applyCleanup(
      planCleanup(
        table,
        text,
        networks,
        (id) => id === containerId,
        () => false,
      ),
    );
  }
}
