// `leopard serve`: the engine's warm workers. A server of the test's own on a private socket;
// calls with LEOPARD_SERVE=1 must be served (or fail saying why), so nothing passes by falling
// back to a direct run unnoticed.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ENV, LEOPARD, leftovers, removeAll, until } from "../engine/harness.ts";

setDefaultTimeout(60_000);
const dir = mkdtempSync(join(tmpdir(), "leopard-serve-engine-"));
const socket = join(dir, "engine.sock");
let server: ReturnType<typeof Bun.spawn>;
const NONE = ["--network", "none"];

/** serve "1": must be served; "auto": served if the worker agrees, else run directly. */
async function call(args: string[], serve: "1" | "auto" = "1") {
  const p = Bun.spawn([LEOPARD, ...args], {
    env: { ...ENV, LEOPARD_SERVE_SOCKET: socket, ...(serve === "1" ? { LEOPARD_SERVE: "1" } : {}) },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { out, err, code };
}

beforeAll(async () => {
  server = Bun.spawn([LEOPARD, "serve", "--socket", socket, "--workers", "1"], {
    env: ENV,
    stdout: "ignore",
    stderr: "inherit",
  });
  await until("the server's socket", () => existsSync(socket));
  for (let t = 0; (await call(["version"])).code !== 0; t++) {
    if (t > 200) throw new Error("leopard serve never answered");
    await Bun.sleep(100);
  }
});

afterAll(async () => {
  await removeAll();
  server.kill("SIGTERM");
  await server.exited;
  rmSync(dir, { recursive: true, force: true });
});

describe("leopard serve", () => {
  test("run --rm: the container's output, stderr and exit status reach the caller", async () => {
    const r = await call(["run", "--rm", ...NONE, "busybox", "sh", "-c", "echo out; echo err >&2; exit 5"]);
    expect(r).toEqual({ out: "out\n", err: "err\n", code: 5 });
    expect(leftovers()).toEqual([]);
  });

  test("docker's exit codes: 127 for a missing command, 125 for an engine error, each with its one line", async () => {
    const missing = await call(["run", "--rm", ...NONE, "busybox", "no-such-command"]);
    expect(missing.code).toBe(127);
    expect(missing.err).toContain("no-such-command");
    const bad = await call(["run", "--rm", ...NONE, "no-such-image-xyz"]);
    expect(bad.code).toBe(125);
    expect(bad.err.trim().split("\n")).toHaveLength(1);
    expect(leftovers()).toEqual([]);
  });

  test("run -d is left to the caller (conmon starts in the caller's cgroup); ps and rm -f are served", async () => {
    const refused = await call(["run", "-d", ...NONE, "busybox", "sleep", "100"]);
    expect(refused.code).toBe(125);
    expect(refused.err).toContain("declined: run -d runs in the caller");
    const started = await call(["run", "-d", ...NONE, "busybox", "sleep", "100"], "auto");
    expect(started.err).toBe("");
    expect(started.code).toBe(0);
    const id = started.out.trim();
    const ps = await call(["ps", "-q", "--no-trunc"]);
    expect(ps.code).toBe(0);
    expect(ps.out).toContain(id);
    expect((await call(["rm", "-f", id])).code).toBe(0);
    expect(leftovers()).toEqual([]);
  });
});
