import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { attach, createNetns, createNetwork, detach, getNetwork } from "../../src/network/index.ts";
import { bridgePorts, idTag, iptablesMentioning, listDir, reservedIps, testPaths } from "./harness.ts";

const paths = testPaths("rb");

/** Nothing of the container is left: no veth, address, rule, record or namespace. */
async function expectNothingLeft(id: string, networks: string[]): Promise<void> {
  for (const n of networks) {
    const { info } = await getNetwork(paths, n);
    expect(bridgePorts(info.bridge)).toEqual([]);
    expect(reservedIps(paths, n)).toEqual([]);
  }
  expect(iptablesMentioning([idTag(id)])).toEqual([]);
  expect(listDir(paths.netnsDir)).not.toContain(id);
  expect(listDir(paths.resultDir)).not.toContain(`${id}.json`);
}

describe("a failed attach leaves nothing behind", () => {
  test("a second network whose plugin fails half way: both networks are rolled back, the error names it", async () => {
    await createNetwork(paths, { name: "good" });
    await createNetwork(paths, { name: "broken" });
    // A real plugin that fails after bridge, portmap and firewall succeeded on this network.
    const file = join(paths.configDir, "broken.conflist");
    const list = JSON.parse(readFileSync(file, "utf8"));
    list.plugins.push({ type: "tuning", sysctl: { "net.ipv4.conf.eth1.leopard_no_such_knob": "1" } });
    writeFileSync(file, JSON.stringify(list));
    const ns = await createNetns(paths, "half");
    await expect(
      attach(paths, "half", ns, ["good", "broken"], {
        portMappings: [{ hostPort: 18085, containerPort: 80, protocol: "tcp" }],
      }),
    ).rejects.toThrow('network "broken": CNI ADD of plugin "tuning"');
    expect(existsSync(ns)).toBe(false);
    await expectNothingLeft("half", ["good", "broken"]);
    expect(iptablesMentioning(["18085"])).toEqual([]);
  });

  test("an unknown network: the namespace is removed, the error names the network", async () => {
    const ns = await createNetns(paths, "unk");
    await expect(attach(paths, "unk", ns, ["good", "no-such-net"])).rejects.toThrow(
      'network "no-such-net" does not exist',
    );
    expect(existsSync(ns)).toBe(false);
    await expectNothingLeft("unk", ["good"]);
  });

  test("a host port a process already listens on: the error names the port", async () => {
    const holder = Bun.listen({ hostname: "127.0.0.1", port: 18081, socket: { data() {} } });
    try {
      const ns = await createNetns(paths, "busy");
      await expect(
        attach(paths, "busy", ns, ["good"], {
          portMappings: [{ hostPort: 18081, containerPort: 80, protocol: "tcp", hostIP: "127.0.0.1" }],
        }),
      ).rejects.toThrow("port 127.0.0.1:18081/tcp is already in use");
      expect(existsSync(ns)).toBe(false);
      await expectNothingLeft("busy", ["good"]);
    } finally {
      holder.stop(true);
    }
  });

  test("a host port another container publishes: the error names that container, which keeps it", async () => {
    const first = await createNetns(paths, "owner");
    try {
      await attach(paths, "owner", first, ["good"], {
        portMappings: [{ hostPort: 18082, containerPort: 80, protocol: "tcp" }],
      });
      const ns = await createNetns(paths, "thief");
      await expect(
        attach(paths, "thief", ns, ["good"], {
          portMappings: [{ hostPort: 18082, containerPort: 8080, protocol: "tcp", hostIP: "127.0.0.1" }],
        }),
      ).rejects.toThrow('port 127.0.0.1:18082/tcp is already published by container "owner"');
      expect(existsSync(ns)).toBe(false);
      expect(existsSync(first)).toBe(true);
      expect(iptablesMentioning([idTag("owner")]).length).toBeGreaterThan(0);
    } finally {
      await detach(paths, "owner");
    }
    await expectNothingLeft("owner", ["good"]);
  });

  test("attaching a container twice is refused and the first attachment stays intact", async () => {
    const ns = await createNetns(paths, "dup");
    try {
      await attach(paths, "dup", ns, ["good"]);
      await expect(attach(paths, "dup", ns, ["good"])).rejects.toThrow('container "dup" is already attached');
      expect(existsSync(ns)).toBe(true);
      expect(reservedIps(paths, "good")).toHaveLength(1);
    } finally {
      await detach(paths, "dup");
    }
    await expectNothingLeft("dup", ["good"]);
  });
});
