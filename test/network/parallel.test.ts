import { expect, test } from "bun:test";
import { firewallsIn } from "../../src/network/firewall.ts";
import { attach, createNetns, detach, getNetwork } from "../../src/network/index.ts";
import { iptablesSave } from "../../src/network/iptables.ts";
import { bridgePorts, idTag, iptablesMentioning, listDir, ping, reservedIps, testPaths } from "./harness.ts";

const paths = testPaths("par");

test("twenty concurrent attaches to the default network, each publishing a port, get distinct addresses, all reach the gateway, and detach leaves nothing", async () => {
  const ids = Array.from({ length: 20 }, (_, i) => `par-${i}`);
  const { info } = await getNetwork(paths, "leopard");
  let ips: string[] = [];
  try {
    const results = await Promise.all(
      ids.map(async (id) => {
        const ns = await createNetns(paths, id);
        // Each publishes a port, so each has rules of its own (and the check after detach is not
        // vacuous); the network's own rules are installed once.
        const hostPort = 18300 + ids.indexOf(id);
        const [a] = await attach(paths, id, ns, ["leopard"], {
          portMappings: [{ hostPort, containerPort: 80, protocol: "tcp" }],
        });
        return { ns, ip: a!.ip };
      }),
    );
    ips = results.map((r) => r.ip);
    expect(new Set(ips).size).toBe(20);
    expect(reservedIps(paths, "leopard").sort()).toEqual([...ips].sort());
    expect(bridgePorts(info.bridge)).toHaveLength(20);
    expect(ids.filter((id) => iptablesMentioning([idTag(id)]).length > 0)).toEqual(ids);
    for (const t of ["nat", "filter"]) expect(firewallsIn(iptablesSave(t)).get(info.bridge)).toHaveLength(1);
    const reached = results.filter((r) => ping(r.ns, info.gateway)).length;
    expect(reached).toBe(20);
  } finally {
    await Promise.all(ids.map((id) => detach(paths, id)));
  }
  expect(bridgePorts(info.bridge)).toEqual([]);
  expect(iptablesMentioning([...ids.map(idTag), ...ips.map((ip) => `${ip}/32`)])).toEqual([]);
  expect(reservedIps(paths, "leopard")).toEqual([]);
  expect(listDir(paths.netnsDir)).toEqual([]);
  expect(listDir(paths.resultDir)).toEqual([]);
});

test("two detaches of the same containers at once (rm -f and conmon's exit command) both succeed and leave nothing", async () => {
  const ids = Array.from({ length: 8 }, (_, i) => `twice-${i}`);
  const { info } = await getNetwork(paths, "leopard");
  for (const id of ids) await attach(paths, id, await createNetns(paths, id), ["leopard"]);
  expect(bridgePorts(info.bridge)).toHaveLength(ids.length);
  // Each container detached twice, all at once: the later of each pair finds it done.
  const outcomes = await Promise.allSettled(ids.flatMap((id) => [detach(paths, id), detach(paths, id)]));
  expect(outcomes.filter((o) => o.status === "rejected")).toEqual([]);
  expect(bridgePorts(info.bridge)).toEqual([]);
  expect(reservedIps(paths, "leopard")).toEqual([]);
  expect(listDir(paths.netnsDir)).toEqual([]);
  expect(listDir(paths.resultDir)).toEqual([]);
  expect(listDir(paths.runDir).filter((f) => f.startsWith("detach-"))).toEqual([]);
});
