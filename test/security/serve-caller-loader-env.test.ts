// Attack: the caller sets LD_PRELOAD to a library of its own and calls leopard, so that the host
// tools leopard starts for itself (iptables-restore for `network reload`; conmon and, through
// conmon, bin/leopard-oci for `run -d`) load the caller's code, in a warm worker's privileges when
// served. Defence: host tools run with an environment stripped of loader variables (LD_*,
// GCONV_PATH, …; src/sys/host-tool.ts), served or not. The caller's own processes (the launcher,
// statically linked, so no preload loads there; the Bun it runs when not served, the C helper it
// forks) keep the caller's environment: they run with the caller's credentials.
//
// The library records, in a directory of the test's, the name of every program that loads it.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ENV, leftovers, removeAll, tempDir } from "../engine/harness.ts";
import { testPaths } from "../network/harness.ts";
import { LEOPARD, type Server, startServer } from "./serve-harness.ts";

setDefaultTimeout(120_000);
const paths = testPaths("loaderenv");
const work = tempDir("loader-env");
const loaded = join(work, "loaded");
const library = join(work, "record.so");
/** The caller's own processes, which may load what the caller preloads. */
const CALLERS_OWN = ["leopard", "bun.exe", "memfd:leopard-helper (deleted)"];
let server: Server;

beforeAll(async () => {
  mkdirSync(loaded);
  writeFileSync(
    join(work, "record.c"),
    `#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
__attribute__((constructor)) static void record(void) {
  char exe[4096], path[8192];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return;
  exe[n] = 0;
  snprintf(path, sizeof path, "${loaded}/%s", strrchr(exe, '/') + 1);
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) close(fd);
}
`,
  );
  const cc = Bun.spawnSync(["cc", "-shared", "-fPIC", "-o", library, join(work, "record.c")], {
    stderr: "pipe",
  });
  if (cc.exitCode !== 0) throw new Error(`building the library failed: ${cc.stderr.toString()}`);
  server = await startServer(["leopard", "leopard-oci"], ENV);
});

afterAll(async () => {
  await removeAll();
  rmSync(work, { recursive: true, force: true }); // before: also when no server started
  await server.stop();
});

async function leopard(serve: "1" | "0", ...args: string[]) {
  const p = Bun.spawn([LEOPARD, ...args], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: server.served({
      LEOPARD_SERVE: serve,
      LD_PRELOAD: library,
      LEOPARD_NETWORK_DIR: paths.configDir,
      LEOPARD_IPAM_DIR: paths.ipamDir,
      LEOPARD_RUN_DIR: paths.runDir,
      LEOPARD_BRIDGE_PREFIX: paths.bridgePrefix,
      LEOPARD_SUBNET_POOL: paths.subnetPool,
    }),
  });
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { code, out, err };
}

/** Programs that loaded the library since the last call, but for the caller's own. */
function strangers(): string[] {
  // The library loads at all: a dynamically linked program of the caller's records itself. (The
  // launcher is linked statically: a preload does not reach it.)
  expect(Bun.spawnSync(["/bin/true"], { env: { ...process.env, LD_PRELOAD: library } }).exitCode).toBe(0);
  const names = readdirSync(loaded);
  for (const n of names) rmSync(join(loaded, n));
  expect(names).toContain("true");
  return names.filter((n) => !CALLERS_OWN.includes(n) && n !== "true").sort();
}

describe("serve-caller-loader-env", () => {
  test.each([
    ["served by a warm worker", "1"],
    ["run directly", "0"],
  ] as const)("network reload %s: iptables never loads the caller's library", async (_how, serve) => {
    const net = `lib${serve}`;
    expect(await leopard(serve, "network", "create", net)).toMatchObject({ code: 0 });
    expect(await leopard(serve, "network", "reload", net)).toEqual({ code: 0, out: `${net}\n`, err: "" });
    expect(await leopard(serve, "network", "rm", net)).toMatchObject({ code: 0 });
    expect(strangers()).toEqual([]);
  });

  test.each([
    ["served by a warm worker", "1"],
    ["run directly", "0"],
  ] as const)("run -d %s: conmon and the runtime it starts never load the caller's library", async (_how, serve) => {
    const run = await leopard(serve, "run", "-d", "--network", "none", "busybox", "sleep", "60");
    expect(run).toMatchObject({ code: 0, err: "" });
    expect(await leopard(serve, "rm", "-f", run.out.trim())).toMatchObject({ code: 0 });
    expect(strangers()).toEqual([]);
    expect(leftovers()).toEqual([]);
  });
});
