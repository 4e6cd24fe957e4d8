import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanup, testPaths } from "./harness.ts";

const TOP = join(import.meta.dir, "../..");
const paths = testPaths("cli");
const storage = mkdtempSync(join(tmpdir(), "leopard-net-cli-"));
afterAll(() => rmSync(storage, { recursive: true, force: true }));

function leopard(...args: string[]): { code: number; out: string; err: string } {
  const r = Bun.spawnSync([join(TOP, "bin/leopard"), "--storage", storage, ...args], {
    stdout: "pipe",
    stderr: "pipe",
    env: {
      ...process.env,
      LEOPARD_NETWORK_DIR: paths.configDir,
      LEOPARD_IPAM_DIR: paths.ipamDir,
      LEOPARD_RUN_DIR: paths.runDir,
      LEOPARD_BRIDGE_PREFIX: paths.bridgePrefix,
      LEOPARD_SUBNET_POOL: paths.subnetPool,
    },
  });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}

test("network create, ls, inspect and rm, with clear errors", async () => {
  expect(leopard("network", "create", "web")).toMatchObject({ code: 0, out: "web\n" });
  const ls = leopard("network", "ls", "--format", "json");
  // docker 23+: one object per line, docker's field names
  const nets = ls.out
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as { Name: string; Subnet: string; Bridge: string });
  expect(nets.map((n) => n.Name)).toEqual(["leopard", "web"]);
  expect(nets[1]!.Bridge).toBe(`${paths.bridgePrefix}1`);
  expect(leopard("network", "ls", "-q").out).toBe("leopard\nweb\n");
  expect(leopard("network", "ls").out).toStartWith("NAME");

  expect(leopard("network", "create", "web")).toMatchObject({
    code: 1,
    err: 'leopard: network create web: network "web" already exists\n',
  });
  expect(leopard("network", "create", "--subnet", nets[1]!.Subnet, "clash")).toMatchObject({
    code: 1,
    err: `leopard: network create clash: subnet "${nets[1]!.Subnet}" overlaps network "web" (${nets[1]!.Subnet})\n`,
  });
  expect(leopard("network", "create", "--subnet", "10.0.0.300/24", "bad").err).toContain(
    'subnet "10.0.0.300/24" is not an IPv4 CIDR',
  );
  expect(
    leopard("network", "create", "--subnet", "192.168.250.0/24", "--gateway", "192.168.251.1", "gw").err,
  ).toContain('gateway "192.168.251.1" is not a host address in subnet "192.168.250.0/24"');
  expect(leopard("network", "create", "none").err).toContain('network name "none" is reserved');
  expect(leopard("network", "ls", "-q").out).toBe("leopard\nweb\n"); // nothing half-made

  const insp = JSON.parse(leopard("network", "inspect", "web").out) as {
    name: string;
    config: { plugins: unknown[] };
  }[];
  expect(insp[0]!.name).toBe("web");
  expect(insp[0]!.config.plugins).toHaveLength(2);
  expect(leopard("network", "inspect", "nope")).toMatchObject({
    code: 1,
    err: 'leopard: network inspect nope: network "nope" does not exist\n',
  });

  // reload: every network by default, or those named; an unknown one is named, the rest done.
  expect(leopard("network", "reload")).toMatchObject({ code: 0, out: "leopard\nweb\n" });
  expect(leopard("network", "reload", "web", "nope")).toMatchObject({
    code: 1,
    out: "web\n",
    err: 'leopard: network reload nope: network "nope" does not exist\n',
  });
  const webChain = `:LEOPARD-${nets[1]!.Bridge} `;
  expect(Bun.spawnSync(["iptables-save", "-t", "nat"]).stdout.toString()).toContain(webChain);

  expect(leopard("network", "rm", "leopard").err).toContain(
    'network "leopard" is the default network and cannot be removed',
  );
  expect(leopard("network", "rm", "web")).toMatchObject({ code: 0, out: "web\n" });
  expect(leopard("network", "ls", "-q").out).toBe("leopard\n");
  expect(Bun.spawnSync(["iptables-save", "-t", "nat"]).stdout.toString()).not.toContain(webChain);
  expect(leopard("network", "frobnicate").err).toContain('unknown network command "frobnicate"');
  await cleanup(paths);
});

test("a network in use cannot be removed; the error names the container", async () => {
  const { attach, createNetns, createNetwork, detach } = await import("../../src/network/index.ts");
  await createNetwork(paths, { name: "busy" });
  const ns = await createNetns(paths, "user1");
  try {
    await attach(paths, "user1", ns, ["busy"]);
    expect(leopard("network", "rm", "busy")).toMatchObject({
      code: 1,
      err: 'leopard: network rm busy: network "busy" is in use by container "user1"\n',
    });
  } finally {
    await detach(paths, "user1");
  }
  expect(leopard("network", "rm", "busy").code).toBe(0);
});
