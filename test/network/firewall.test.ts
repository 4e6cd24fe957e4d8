// The networks' own rules (src/network/firewall.ts): masquerade that really carries traffic out,
// one jump per table however many containers attach at once, reported by CHECK after a flush and
// put back by reload or (after a reboot) by the next attach, gone with the network, and pruned
// once the network and its bridge are both gone.
import { afterAll, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { chainOf, firewallsIn } from "../../src/network/firewall.ts";
import {
  attach,
  check,
  createNetns,
  createNetwork,
  detach,
  getNetwork,
  pruneNetworking,
  reloadNetworkFirewall,
  removeNetns,
  removeNetwork,
} from "../../src/network/index.ts";
import { iptablesSave } from "../../src/network/iptables.ts";
import { inNs, ping, sh, testPaths } from "./harness.ts";

const paths = testPaths("fw");

function jumps(table: "nat" | "filter", bridge: string): number {
  return firewallsIn(iptablesSave(table)).get(bridge)?.length ?? 0;
}

function chains(bridge: string): number {
  return ["nat", "filter"].filter((t) => iptablesSave(t).includes(`:${chainOf(bridge)} `)).length;
}

// "Outside": a namespace behind a veth from the host, with no route back to any container subnet,
// so it can answer a container only when the host masqueraded the container's address to its own.
const tag = String(process.pid % 10000);
const hostEnd = `lfo${tag}`;
const net = `198.18.${process.pid % 250}`;
let outside = "";
afterAll(() => {
  sh(["ip", "link", "del", hostEnd]);
  if (outside !== "") removeNetns(outside);
});

async function makeOutside(): Promise<string> {
  outside = await createNetns(paths, "outside");
  const run = (argv: string[]) => {
    const r = sh(argv);
    if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.err}`);
  };
  run(["ip", "link", "add", hostEnd, "type", "veth", "peer", "name", "eth0", "netns", outside]);
  run(["ip", "addr", "add", `${net}.1/30`, "dev", hostEnd]);
  run(["ip", "link", "set", hostEnd, "up"]);
  for (const argv of [
    ["ip", "addr", "add", `${net}.2/30`, "dev", "eth0"],
    ["ip", "link", "set", "eth0", "up"],
  ]) {
    const r = inNs(outside, argv);
    if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.err}`);
  }
  return outside;
}

test("a container reaches a network beyond the host through the network's masquerade, and not without it", async () => {
  const out = await makeOutside();
  const { info } = await createNetwork(paths, { name: "masq" });
  const ns = await createNetns(paths, "masq-a");
  try {
    await attach(paths, "masq-a", ns, ["masq"]);
    expect(jumps("nat", info.bridge)).toBe(1);
    expect(jumps("filter", info.bridge)).toBe(1);
    expect(ping(ns, `${net}.2`)).toBe(true);
    // Still where the host drops forwarded traffic by default (docker's hosts): the network's
    // filter chain lets it through.
    const policy = /^:FORWARD (\w+)/m.exec(iptablesSave("filter"))?.[1] ?? "ACCEPT";
    try {
      expect(sh(["iptables", "-w", "-P", "FORWARD", "DROP"]).code).toBe(0);
      expect(ping(ns, `${net}.2`)).toBe(true);
    } finally {
      sh(["iptables", "-w", "-P", "FORWARD", policy]);
    }
    // The outside saw the host's address, never the container's.
    expect(inNs(out, ["ip", "route"]).out).not.toContain(info.subnet);
    // Without the nat jump (a flush, a firewall reload) the same ping gets no answer, …
    // (Each ping is a new ICMP id, so a new conntrack entry: no cached translation carries it.)
    const dropJump = () => {
      const [rule] = firewallsIn(iptablesSave("nat")).get(info.bridge)!;
      expect(sh(["iptables", "-w", "-t", "nat", "-D", ...rule!.slice(1)]).code).toBe(0);
    };
    dropJump();
    expect(ping(ns, `${net}.2`)).toBe(false);
    // … CHECK says so and names the remedy, which puts the rule back, once.
    await expect(check(paths, "masq-a")).rejects.toThrow(
      'network "masq": its masquerade and forwarding rules are missing (flushed?); "leopard network reload" puts them back',
    );
    await reloadNetworkFirewall(paths, info);
    await reloadNetworkFirewall(paths, info);
    expect(jumps("nat", info.bridge)).toBe(1);
    expect(jumps("filter", info.bridge)).toBe(1);
    expect(ping(ns, `${net}.2`)).toBe(true);
    await check(paths, "masq-a");
    // A reboot empties /run and iptables together: the first attach after it installs them.
    dropJump();
    rmSync(join(paths.runDir, "firewall"), { recursive: true });
    const ns2 = await createNetns(paths, "masq-b");
    await attach(paths, "masq-b", ns2, ["masq"]);
    expect(jumps("nat", info.bridge)).toBe(1);
    expect(ping(ns, `${net}.2`)).toBe(true);
    expect(ping(ns2, `${net}.2`)).toBe(true);
  } finally {
    await detach(paths, "masq-a");
    await detach(paths, "masq-b");
  }
  // The rules belong to the network: they stay while it does, and go with it.
  expect(chains(info.bridge)).toBe(2);
  await removeNetwork(paths, "masq");
  expect(chains(info.bridge)).toBe(0);
  expect(jumps("nat", info.bridge) + jumps("filter", info.bridge)).toBe(0);
  expect(existsSync(join(paths.runDir, "firewall", info.bridge))).toBe(false);
});

test("concurrent first attaches to a new network install its rules once", async () => {
  const { info } = await createNetwork(paths, { name: "race" });
  const ids = Array.from({ length: 6 }, (_, i) => `race-${i}`);
  try {
    await Promise.all(ids.map(async (id) => attach(paths, id, await createNetns(paths, id), ["race"])));
    expect(jumps("nat", info.bridge)).toBe(1);
    expect(jumps("filter", info.bridge)).toBe(1);
    expect(
      iptablesSave("nat")
        .split("\n")
        .filter((l) => l === `-A ${chainOf(info.bridge)} -j MASQUERADE`),
    ).toHaveLength(1);
  } finally {
    await Promise.all(ids.map((id) => detach(paths, id)));
  }
  await removeNetwork(paths, "race");
});

test("prune removes the rules of a network whose definition and bridge are gone, and keeps the others'", async () => {
  const { info } = await createNetwork(paths, { name: "lost" });
  const ns = await createNetns(paths, "lost-a");
  await attach(paths, "lost-a", ns, ["lost"]);
  await detach(paths, "lost-a");
  const dflt = (await getNetwork(paths, "leopard")).info;
  const keep = await createNetns(paths, "keep");
  try {
    await attach(paths, "keep", keep, ["leopard"]);
    // Deleted by hand: the definition and the bridge, not the rules.
    rmSync(join(paths.configDir, "lost.conflist"));
    sh(["ip", "link", "del", info.bridge]);
    expect(chains(info.bridge)).toBe(2);
    const report = await pruneNetworking(paths, ["keep"]);
    expect(report.chains).toBeGreaterThanOrEqual(2);
    expect(chains(info.bridge)).toBe(0);
    expect(chains(dflt.bridge)).toBe(2);
    expect(ping(keep, dflt.gateway)).toBe(true);
  } finally {
    await detach(paths, "keep");
  }
});
