// Networking tests: real CNI plugins, namespaces and bridges of their own. Each test file gets
// temporary directories, its own bridge prefix and subnet pool (derived from the pid, so parallel
// runs and a real `leopard0` do not meet), and a cleanup that runs even when assertions fail.
import { afterAll, setDefaultTimeout } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeFirewalls } from "../../src/network/firewall.ts";
import { type NetworkPaths, networkPaths, pruneNetworking } from "../../src/network/index.ts";
import { unmountNetnsDir } from "../../src/network/netns.ts";

setDefaultTimeout(120_000);

let files = 0;

/** Fresh paths for one test file, torn down in afterAll. */
export function testPaths(tag: string): NetworkPaths {
  const n = files++;
  const dir = mkdtempSync(join(tmpdir(), `leopard-net-${tag}-`));
  const id = (process.pid % 100) * 2 + n; // 0..199
  const paths = networkPaths({
    configDir: join(dir, "networks"),
    ipamDir: join(dir, "ipam"),
    runDir: join(dir, "run"),
    bridgePrefix: `lt${process.pid % 10000}${String.fromCharCode(97 + (n % 26))}`,
    subnetPool: `10.${200 + (id % 50)}.${(Math.floor(id / 50) % 4) * 64}.0/18`,
  });
  afterAll(async () => {
    await cleanup(paths);
    rmSync(dir, { recursive: true, force: true });
  });
  return paths;
}

/** Everything the paths' networks hold goes: containers, bridges, the netns mount. */
export async function cleanup(paths: NetworkPaths): Promise<void> {
  try {
    await pruneNetworking(paths, []);
  } catch (e) {
    process.stderr.write(`network test cleanup: ${String(e)}\n`);
  }
  for (const l of links()) if (l.startsWith(paths.bridgePrefix)) sh(["ip", "link", "del", l]);
  removeFirewalls((b) => b.startsWith(paths.bridgePrefix), paths.runDir);
  if (existsSync(paths.netnsDir)) unmountNetnsDir(paths);
}

export function sh(argv: string[]): { code: number; out: string; err: string } {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", env: process.env });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}

/** Runs argv inside the pinned namespace. */
export function inNs(ns: string, argv: string[]): { code: number; out: string; err: string } {
  return sh(["nsenter", `--net=${ns}`, ...argv]);
}

export function ping(ns: string, ip: string): boolean {
  return inNs(ns, ["busybox", "ping", "-c", "1", "-W", "5", ip]).code === 0;
}

export function links(): string[] {
  return (JSON.parse(sh(["ip", "-j", "link"]).out) as { ifname: string }[]).map((l) => l.ifname);
}

/** Interfaces enslaved to a bridge. */
export function bridgePorts(bridge: string): string[] {
  const r = sh(["ip", "-j", "link", "show", "master", bridge]);
  return r.code === 0 ? (JSON.parse(r.out || "[]") as { ifname: string }[]).map((l) => l.ifname) : [];
}

/** How iptables-save prints a CNI comment's container id: `id: \"<id>\"`. */
export function idTag(id: string): string {
  return `id: \\"${id}\\"`;
}

/** Lines of iptables-save (nat and filter) that mention any of the ids or addresses. */
export function iptablesMentioning(needles: readonly string[]): string[] {
  const text = sh(["iptables-save", "-t", "nat"]).out + sh(["iptables-save", "-t", "filter"]).out;
  return text.split("\n").filter((l) => needles.some((n) => l.includes(n)));
}

export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** host-local reservation files (addresses) left in a network's dataDir. */
export function reservedIps(paths: NetworkPaths, network: string): string[] {
  return listDir(join(paths.ipamDir, network)).filter((f) => /^[0-9.]+$/.test(f));
}

/** The interfaces a namespace has. */
export function nsLinks(ns: string): string[] {
  return (JSON.parse(inNs(ns, ["ip", "-j", "link"]).out || "[]") as { ifname: string }[]).map(
    (l) => l.ifname,
  );
}
