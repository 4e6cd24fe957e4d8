import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import {
  attach,
  attachments,
  check,
  createNetns,
  createNetwork,
  detach,
  getNetwork,
  removeNetns,
} from "../../src/network/index.ts";
import { loadRecord } from "../../src/network/records.ts";
import { threadNetnsId } from "../../src/sys/netns.ts";
import {
  bridgePorts,
  idTag,
  inNs,
  iptablesMentioning,
  nsLinks,
  ping,
  reservedIps,
  sh,
  testPaths,
} from "./harness.ts";

const paths = testPaths("conn");

describe("pinned namespaces", () => {
  test("a new namespace has only lo, up, and the caller's thread is back in the host's namespace", async () => {
    const before = threadNetnsId();
    const ns = await createNetns(paths, "none1");
    try {
      expect(threadNetnsId()).toBe(before);
      expect(nsLinks(ns)).toEqual(["lo"]);
      expect(inNs(ns, ["ip", "-br", "addr", "show", "lo"]).out).toContain("127.0.0.1/8");
      expect(inNs(ns, ["busybox", "ping", "-c", "1", "-W", "5", "127.0.0.1"]).code).toBe(0);
      // Pinned: no process holds it, yet it is the same namespace each time it is entered.
      const a = inNs(ns, ["readlink", "/proc/self/ns/net"]).out;
      const b = inNs(ns, ["readlink", "/proc/self/ns/net"]).out;
      expect(a).toBe(b);
      expect(a).not.toBe(`${before}\n`);
    } finally {
      removeNetns(ns);
    }
    expect(existsSync(ns)).toBe(false);
    expect(sh(["grep", "-c", ns, "/proc/self/mountinfo"]).out.trim()).toBe("0");
  });

  test("a second namespace for the same container is refused and the first stays", async () => {
    const ns = await createNetns(paths, "twice");
    try {
      await expect(createNetns(paths, "twice")).rejects.toThrow(
        'network namespace for container "twice" already exists',
      );
      expect(nsLinks(ns)).toEqual(["lo"]);
    } finally {
      removeNetns(ns);
    }
  });

  test("removing a namespace twice is fine", async () => {
    const ns = await createNetns(paths, "gone");
    removeNetns(ns);
    expect(() => removeNetns(ns)).not.toThrow();
  });
});

describe("bridge networks", () => {
  test("two namespaces on a user network ping each other by address", async () => {
    await createNetwork(paths, { name: "pair" });
    const ids = ["pair-a", "pair-b"];
    const ns = await Promise.all(ids.map((id) => createNetns(paths, id)));
    try {
      const [a, b] = await Promise.all(ids.map((id, i) => attach(paths, id, ns[i]!, ["pair"])));
      const ipA = a![0]!.ip;
      const ipB = b![0]!.ip;
      expect(ipA).not.toBe(ipB);
      expect(nsLinks(ns[0]!).sort()).toEqual(["eth0", "lo"]);
      expect(ping(ns[0]!, ipB)).toBe(true);
      expect(ping(ns[1]!, ipA)).toBe(true);
      expect(attachments(paths, "pair-a")).toEqual(a!);
      // Without published ports a container has no rules of its own: the network's cover it.
      expect(iptablesMentioning([idTag("pair-a"), `${ipA}/32`])).toEqual([]);
      // … and runs no portmap, now or at its DEL.
      expect(loadRecord(paths, "pair-a")!.attachments[0]!.conflist.plugins.map((p) => p.type)).toEqual([
        "bridge",
      ]);
      await check(paths, "pair-a");
    } finally {
      for (const id of ids) await detach(paths, id);
    }
    const { info } = await getNetwork(paths, "pair");
    expect(bridgePorts(info.bridge)).toEqual([]);
    expect(reservedIps(paths, "pair")).toEqual([]);
    expect(iptablesMentioning(ids.map(idTag))).toEqual([]);
    for (const n of ns) expect(existsSync(n)).toBe(false);
  });

  test("a namespace on the default network reaches the bridge's gateway address on the host", async () => {
    const ns = await createNetns(paths, "dflt");
    try {
      const [att] = await attach(paths, "dflt", ns, ["leopard"]);
      const { info } = await getNetwork(paths, "leopard");
      expect(att!.gateway).toBe(info.gateway);
      expect(att!.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      expect(ping(ns, info.gateway)).toBe(true);
      expect(inNs(ns, ["ip", "route", "show", "default"]).out).toContain(`via ${info.gateway}`);
    } finally {
      await detach(paths, "dflt");
    }
  });

  test("a container on two networks gets eth0 and eth1, one address on each", async () => {
    await createNetwork(paths, { name: "second" });
    const ns = await createNetns(paths, "multi");
    try {
      const atts = await attach(paths, "multi", ns, ["leopard", "second"]);
      expect(atts.map((a) => [a.network, a.ifname])).toEqual([
        ["leopard", "eth0"],
        ["second", "eth1"],
      ]);
      expect(nsLinks(ns).sort()).toEqual(["eth0", "eth1", "lo"]);
      expect(ping(ns, atts[1]!.gateway)).toBe(true);
    } finally {
      await detach(paths, "multi");
    }
    expect(reservedIps(paths, "second")).toEqual([]);
  });

  test("a fixed address is honoured, and one outside the subnet is refused before anything is made", async () => {
    const { info } = await getNetwork(paths, "pair");
    const want = info.subnet.replace(/0\/24$/, "77");
    const ns = await createNetns(paths, "fixed");
    try {
      const [att] = await attach(paths, "fixed", ns, ["pair"], { ip: want });
      expect(att!.ip).toBe(want);
    } finally {
      await detach(paths, "fixed");
    }
    const ns2 = await createNetns(paths, "fixed-bad");
    await expect(attach(paths, "fixed-bad", ns2, ["pair"], { ip: "192.0.2.200" })).rejects.toThrow(
      `address "192.0.2.200" is not a free host address of network "pair"`,
    );
    expect(existsSync(ns2)).toBe(false);
  });

  test("CHECK fails once the container's interface is gone", async () => {
    const ns = await createNetns(paths, "chk");
    try {
      await attach(paths, "chk", ns, ["leopard"]);
      await check(paths, "chk");
      inNs(ns, ["ip", "link", "del", "eth0"]);
      await expect(check(paths, "chk")).rejects.toThrow('network "leopard": CNI CHECK of plugin "bridge"');
    } finally {
      await detach(paths, "chk");
    }
    expect(existsSync(ns)).toBe(false);
    expect(iptablesMentioning([idTag("chk")])).toEqual([]);
  });
});
