// Preloaded by bun test (bunfig.toml): after the whole run, remove the cgroup parents the tests'
// containers lived under (/leopard-test/…). rmdir only removes empty cgroups, so a container
// still running elsewhere keeps its parent.
import { afterAll } from "bun:test";
import { readdirSync, rmdirSync } from "node:fs";

function removeEmptyTestCgroups(): void {
  let controllers: string[] = [];
  try {
    controllers = readdirSync("/sys/fs/cgroup");
  } catch {
    return;
  }
  for (const ctl of controllers) {
    const top = `/sys/fs/cgroup/${ctl}/leopard-test`;
    let children: string[] = [];
    try {
      children = readdirSync(top, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name);
    } catch {
      continue;
    }
    for (const c of children) {
      try {
        rmdirSync(`${top}/${c}`);
      } catch {}
    }
    try {
      rmdirSync(top);
    } catch {}
  }
}

afterAll(removeEmptyTestCgroups);

/** The engine tests' shared storage and run directories (test/engine/harness.ts), if any. */
function removeEngineTestDirs(): void {
  const { tmpdir } = require("node:os") as typeof import("node:os");
  const { rmSync, existsSync } = require("node:fs") as typeof import("node:fs");
  const dir = `${tmpdir()}/leopard-engine-test-${process.pid}`;
  if (existsSync(dir)) {
    // The namespace directory is a mount of its own (as /run/netns is); unmounted first.
    for (const line of require("node:fs")
      .readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .reverse()) {
      const target = String(line).split(" ")[4];
      if (target?.startsWith(`${dir}/`)) Bun.spawnSync(["umount", "-l", target]);
    }
    rmSync(dir, { recursive: true, force: true });
  }
  // Their bridges (test/engine/harness.ts BRIDGE_PREFIX): the default network's is never deleted.
  const prefix = `lpt${process.pid % 100000}b`;
  for (const n of existsSync("/sys/class/net") ? require("node:fs").readdirSync("/sys/class/net") : []) {
    if (String(n).startsWith(prefix)) Bun.spawnSync(["ip", "link", "del", String(n)]);
  }
  // And their networks' own iptables chains (src/network/firewall.ts: LEOPARD-<bridge>).
  if (Bun.spawnSync(["iptables-save", "-t", "nat"]).stdout.toString().includes(`:LEOPARD-${prefix}`)) {
    const { removeFirewalls } =
      require("../src/network/firewall.ts") as typeof import("../src/network/firewall.ts");
    removeFirewalls((b) => b.startsWith(prefix));
  }
}

afterAll(removeEngineTestDirs);
