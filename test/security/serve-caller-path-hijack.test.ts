// Attack: the caller puts a directory of its own first on PATH, with programs named like the host
// tools leopard starts for itself (iptables, iptables-restore, iptables-save, ip, nsenter), and
// calls `leopard network reload`: a warm worker of `leopard serve` (or leopard run directly)
// would start the caller's programs in place of the system's, with the worker's privileges.
// Defence: every host tool is found on a fixed PATH of system directories
// (src/sys/host-tool.ts), served or not.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testPaths } from "../network/harness.ts";
import { LEOPARD, type Server, startServer } from "./serve-harness.ts";

setDefaultTimeout(120_000);
const paths = testPaths("pathhijack");
const storage = mkdtempSync(join(tmpdir(), "leopard-path-hijack-"));
const fakeBin = join(storage, "bin");
const marker = join(storage, "hijacked");
const TOOLS = ["iptables", "iptables-restore", "iptables-save", "ip", "nsenter", "ip6tables"];
let server: Server;

beforeAll(async () => {
  Bun.spawnSync(["mkdir", "-p", fakeBin]);
  for (const t of TOOLS) {
    writeFileSync(join(fakeBin, t), `#!/bin/sh\necho "${t} $*" >> ${marker}\nexit 0\n`);
    chmodSync(join(fakeBin, t), 0o755);
  }
  server = await startServer("leopard");
});

afterAll(async () => {
  rmSync(storage, { recursive: true, force: true }); // first: also when no server started
  await server.stop();
});

function leopard(serve: "1" | "0", ...args: string[]): { code: number; out: string; err: string } {
  const r = Bun.spawnSync([LEOPARD, "--storage", storage, ...args], {
    stdout: "pipe",
    stderr: "pipe",
    env: server.served({
      LEOPARD_SERVE: serve,
      PATH: `${fakeBin}:${process.env["PATH"]}`,
      LEOPARD_NETWORK_DIR: paths.configDir,
      LEOPARD_IPAM_DIR: paths.ipamDir,
      LEOPARD_RUN_DIR: paths.runDir,
      LEOPARD_BRIDGE_PREFIX: paths.bridgePrefix,
      LEOPARD_SUBNET_POOL: paths.subnetPool,
    }),
  });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}

/** The chains of our networks in the host's nat table. */
function ourChains(): string[] {
  const save = Bun.spawnSync(["/usr/sbin/iptables-save", "-t", "nat"], { stdout: "pipe" }).stdout.toString();
  return save.split("\n").filter((l) => l.startsWith(`:LEOPARD-${paths.bridgePrefix}`));
}

const hijacked = () => (existsSync(marker) ? readFileSync(marker, "utf8") : "");

describe("serve-caller-path-hijack", () => {
  test.each([
    ["served by a warm worker", "1"],
    ["run directly", "0"],
  ] as const)("network reload %s runs the system's iptables, never the caller's PATH", (_how, serve) => {
    rmSync(marker, { force: true });
    const before = ourChains();
    const net = `web${serve}`; // (a failed case leaves its network to the harness's cleanup)
    expect(leopard(serve, "network", "create", net)).toMatchObject({ code: 0, out: `${net}\n` });
    const bridge = (JSON.parse(leopard(serve, "network", "inspect", net).out) as { bridge: string }[])[0]
      ?.bridge;
    expect(leopard(serve, "network", "reload", net)).toEqual({ code: 0, out: `${net}\n`, err: "" });
    expect(hijacked()).toBe("");
    // The real rules are in place: the system's iptables-restore ran.
    expect(ourChains().map((l) => l.split(" ")[0])).toEqual([`:LEOPARD-${bridge}`]);
    expect(leopard(serve, "network", "rm", net)).toMatchObject({ code: 0, out: `${net}\n` });
    expect(hijacked()).toBe("");
    // The host's nat table is as it was.
    expect(ourChains()).toEqual(before);
  });
});
