import { expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import {
  attach,
  createNetns,
  detach,
  findOrphans,
  getNetwork,
  pruneNetworking,
} from "../../src/network/index.ts";
import { recordPath } from "../../src/network/records.ts";
import { bridgePorts, idTag, iptablesMentioning, listDir, ping, reservedIps, testPaths } from "./harness.ts";

const paths = testPaths("orph");
const ports = (hostPort: number) => ({
  portMappings: [{ hostPort, containerPort: 80, protocol: "tcp" as const }],
});

test("prune removes what crashed commands left and leaves live containers alone", async () => {
  const { info } = await getNetwork(paths, "leopard");
  const live = await createNetns(paths, "alive");
  try {
    const [liveAtt] = await attach(paths, "alive", live, ["leopard"], ports(18091));
    // Crash 1: the engine died after attach and its state went too (a lost record).
    const lost = await createNetns(paths, "lost");
    const [lostAtt] = await attach(paths, "lost", lost, ["leopard"], ports(18092));
    rmSync(recordPath(paths, "lost"));
    // Crash 2: the engine died before detach; the record is still there.
    const kept = await createNetns(paths, "kept");
    await attach(paths, "kept", kept, ["leopard"], ports(18093));
    // Crash 3: only a pinned namespace (died between createNetns and attach).
    await createNetns(paths, "bare");

    expect(iptablesMentioning([idTag("lost"), idTag("kept")]).length).toBeGreaterThan(0);
    const found = await findOrphans(paths, new Set(["alive"]));
    expect(found.containers).toEqual(["bare", "kept", "lost"]);
    expect(found.netns.sort()).toEqual(["bare", "kept", "lost"]);
    expect(found.records).toEqual(["kept"]);
    expect(found.reservations.sort()).toHaveLength(2);

    const report = await pruneNetworking(paths, ["alive"]);
    expect(report.errors).toEqual([]);
    expect(report.containers).toEqual(["bare", "kept", "lost"]);

    expect(listDir(paths.netnsDir)).toEqual(["alive"]);
    expect(listDir(paths.resultDir)).toEqual(["alive.json"]);
    expect(reservedIps(paths, "leopard")).toEqual([liveAtt!.ip]);
    expect(bridgePorts(info.bridge)).toEqual([liveAtt!.hostVeth]);
    expect(
      iptablesMentioning([
        idTag("lost"),
        idTag("kept"),
        idTag("bare"),
        `${lostAtt!.ip}/32`,
        "18092",
        "18093",
      ]),
    ).toEqual([]);
    expect(iptablesMentioning(["18091"]).length).toBeGreaterThan(0);
    expect(ping(live, info.gateway)).toBe(true);
    const again = await findOrphans(paths, new Set(["alive"]));
    expect(again.containers).toEqual([]);
    expect(again.veths).toEqual([]);
  } finally {
    await detach(paths, "alive");
  }
  expect(existsSync(live)).toBe(false);
  expect((await findOrphans(paths, new Set())).containers).toEqual([]);
});

test("prune also finds rules and addresses whose namespace and record are both gone", async () => {
  const ns = await createNetns(paths, "ghost");
  await attach(paths, "ghost", ns, ["leopard"], ports(18094));
  // Lost /run: record and pin vanish; the veth dies with the namespace, the rest stays.
  rmSync(recordPath(paths, "ghost"));
  const { removeNetns } = await import("../../src/network/index.ts");
  removeNetns(ns);
  expect(reservedIps(paths, "leopard")).toHaveLength(1);
  expect(iptablesMentioning([idTag("ghost")]).length).toBeGreaterThan(0);
  const report = await pruneNetworking(paths, []);
  expect(report.containers).toEqual(["ghost"]);
  expect(reservedIps(paths, "leopard")).toEqual([]);
  expect(iptablesMentioning([idTag("ghost"), "18094"])).toEqual([]);
});

test("prune finds a container known only by its published port's rules (record, namespace and address all gone)", async () => {
  const ns = await createNetns(paths, "phantom");
  const [att] = await attach(paths, "phantom", ns, ["leopard"], ports(18095));
  rmSync(recordPath(paths, "phantom"));
  const { removeNetns } = await import("../../src/network/index.ts");
  removeNetns(ns);
  const { info } = await getNetwork(paths, "leopard");
  rmSync(`${info.ipamDir}/leopard/${att!.ip}`);
  expect(iptablesMentioning([idTag("phantom")]).length).toBeGreaterThan(0);
  expect((await findOrphans(paths, new Set())).containers).toEqual(["phantom"]);
  await pruneNetworking(paths, []);
  expect(iptablesMentioning([idTag("phantom"), "18095"])).toEqual([]);
});
