import { expect, test } from "bun:test";
import { attach, createNetns, detach, getNetwork } from "../../src/network/index.ts";
import { bridgePorts, idTag, iptablesMentioning, listDir, ping, reservedIps, testPaths } from "./harness.ts";

const paths = testPaths("par");

test("twenty concurrent attaches to the default network get distinct addresses, all reach the gateway, and detach leaves nothing", async () => {
  const ids = Array.from({ length: 20 }, (_, i) => `par-${i}`);
  const { info } = await getNetwork(paths, "leopard");
  let ips: string[] = [];
  try {
    const results = await Promise.all(
      ids.map(async (id) => {
        const ns = await createNetns(paths, id);
        const [a] = await attach(paths, id, ns, ["leopard"]);
        return { ns, ip: a!.ip };
      }),
    );
    ips = results.map((r) => r.ip);
    expect(new Set(ips).size).toBe(20);
    expect(reservedIps(paths, "leopard").sort()).toEqual([...ips].sort());
    expect(bridgePorts(info.bridge)).toHaveLength(20);
    // Each has its masquerade rules (so the check after detach is not vacuous).
    expect(ids.filter((id) => iptablesMentioning([idTag(id)]).length > 0)).toEqual(ids);
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
