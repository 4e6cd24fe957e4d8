import { describe, expect, test } from "bun:test";
import {
  attachList,
  bridgeConflist,
  describeConflist,
  hasNetworkFirewall,
  leavesContainerRules,
  nextBridgeName,
  parseConflist,
  validateNetworkName,
} from "./conflist.ts";
import { parseIp, parseSubnet } from "./subnet.ts";

const spec = {
  name: "leopard",
  bridge: "leopard0",
  subnet: parseSubnet("10.89.0.0/24"),
  gateway: parseIp("10.89.0.1"),
  ipamDir: "/var/lib/leopard/ipam",
  created: "2025-01-01T00:00:00.000Z",
};

describe("bridgeConflist", () => {
  test("the default network is a bridge with host-local IPAM and portmap; masquerade is the network's own", () => {
    const c = bridgeConflist(spec);
    expect(c.cniVersion).toBe("1.0.0");
    expect(c.name).toBe("leopard");
    expect(c.plugins.map((p) => p.type)).toEqual(["bridge", "portmap"]);
    expect(hasNetworkFirewall(c)).toBe(true);
    expect(c.plugins[0]).toMatchObject({
      bridge: "leopard0",
      isGateway: true,
      ipMasq: false,
      capabilities: { ips: true },
      ipam: {
        type: "host-local",
        dataDir: "/var/lib/leopard/ipam",
        ranges: [[{ subnet: "10.89.0.0/24", gateway: "10.89.0.1" }]],
      },
    });
    expect(c.plugins[1]).toEqual({ type: "portmap", capabilities: { portMappings: true } });
  });

  test("an attachment without published ports runs no portmap, and then leaves no rules of its own", () => {
    const c = bridgeConflist(spec);
    expect(attachList(c, false).plugins.map((p) => p.type)).toEqual(["bridge"]);
    expect(attachList(c, true)).toBe(c);
    expect(leavesContainerRules(attachList(c, false))).toBe(false);
    expect(leavesContainerRules(attachList(c, true))).toBe(true);
    expect(c.plugins).toHaveLength(2); // the network's own list is not changed
  });

  test("lists of earlier versions (per-container masquerade, the firewall plugin) still count as leaving rules", () => {
    const old = {
      cniVersion: "1.0.0",
      name: "old",
      plugins: [{ type: "bridge", ipMasq: true }, { type: "firewall" }],
    };
    expect(leavesContainerRules(old)).toBe(true);
    expect(leavesContainerRules({ ...old, plugins: [{ type: "bridge", ipMasq: true }] })).toBe(true);
    expect(leavesContainerRules({ ...old, plugins: [{ type: "bridge" }] })).toBe(false);
    expect(hasNetworkFirewall(old)).toBe(false);
  });

  test("describeConflist reads back what bridgeConflist wrote", () => {
    expect(describeConflist(bridgeConflist(spec))).toEqual({
      name: "leopard",
      driver: "bridge",
      bridge: "leopard0",
      subnet: "10.89.0.0/24",
      gateway: "10.89.0.1",
      ipamDir: "/var/lib/leopard/ipam",
      created: "2025-01-01T00:00:00.000Z",
    });
  });

  test("a list without a host-local range cannot be described", () => {
    expect(() =>
      describeConflist({ cniVersion: "1.0.0", name: "x", plugins: [{ type: "macvlan" }] }),
    ).toThrow('network "x" has no bridge plugin with a host-local range');
  });
});

describe("parseConflist", () => {
  test.each([
    [[], "not a JSON object"],
    [{ cniVersion: "1.0.0", plugins: [{ type: "bridge" }] }, '"name" is missing'],
    [{ name: "n", plugins: [{ type: "bridge" }] }, '"cniVersion" is missing'],
    [{ name: "n", cniVersion: "1.0.0", plugins: [] }, '"plugins" is missing or empty'],
    [{ name: "n", cniVersion: "1.0.0", plugins: [{ bridge: "x" }] }, 'plugin 0 has no "type"'],
  ])("%p is refused: %s", (json, msg) => {
    expect(() => parseConflist(json, "f.conflist")).toThrow(`network config "f.conflist": ${msg}`);
  });

  test("a generated list passes", () => {
    const c = bridgeConflist(spec);
    expect(parseConflist(JSON.parse(JSON.stringify(c)), "x")).toEqual(c);
  });
});

describe("names", () => {
  test.each(["web", "my-net.1", "A_b", "x".repeat(63)])("%p is a valid network name", (n) => {
    expect(() => validateNetworkName(n)).not.toThrow();
  });
  test.each(["", "-x", "a/b", "a b", "x".repeat(64), "container:abc"])("%p is not", (n) => {
    expect(() => validateNetworkName(n)).toThrow(`network name "${n}" must be`);
  });
  test.each(["none", "host"])("%p is reserved", (n) => {
    expect(() => validateNetworkName(n)).toThrow(`network name "${n}" is reserved`);
  });

  test.each([
    [[], "leopard1"],
    [["leopard1", "leopard2"], "leopard3"],
    [["leopard2"], "leopard1"],
  ])("bridge names: used %p gives %s", (used, want) => {
    expect(nextBridgeName("leopard", new Set(used))).toBe(want);
  });

  test("a prefix too long for a number is refused", () => {
    expect(() => nextBridgeName("abcdefghijklmno", new Set())).toThrow("leaves no room");
  });
});
