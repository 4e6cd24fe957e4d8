// A wedged server never makes a call hang: with every worker stopped (SIGSTOP) and the supervisor
// running, the launcher's connect succeeds and nobody answers. It gives up after a short, bounded
// wait (before anything was acted on) and runs the command itself. A worker that takes the
// abandoned call later finds the launcher gone and does nothing. The bound on "did not hang" is
// each call's own timeout (a hang fails the test), not a measured time.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundle, OCI, trackBundles, until } from "../integration/harness.ts";

setDefaultTimeout(60_000);
const dir = mkdtempSync(join(tmpdir(), "leopard-serve-wedged-"));
let server: ReturnType<typeof Bun.spawn>;
const use = trackBundles();
/** A call that takes longer than this hangs (the launcher waits at most ~0.5 s for a worker). */
const HANG = 20_000;

const env = (extra: Record<string, string | undefined> = {}) => ({
  ...process.env,
  LEOPARD_SERVE_DIR: dir,
  ...extra,
});

function workers(): number[] {
  const kids = readFileSync(`/proc/${server.pid}/task/${server.pid}/children`, "utf8").trim();
  return kids === "" ? [] : kids.split(" ").map(Number);
}

/**
 * Runs the launcher; a call still running after HANG ms is killed and reported as hung. Its
 * stdout and stderr are files: a created container keeps the caller's stdio open, as with runc.
 */
async function call(args: string[], e = env(), cwd = dir) {
  const out = join(dir, `out-${++calls}`);
  const err = join(dir, `err-${calls}`);
  const p = Bun.spawn([OCI, ...args], {
    env: e,
    cwd,
    stdin: "ignore",
    stdout: Bun.file(out),
    stderr: Bun.file(err),
  });
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    p.kill("SIGKILL");
  }, HANG);
  const code = await p.exited;
  clearTimeout(timer);
  return { hung, code, stdout: readFileSync(out, "utf8"), stderr: readFileSync(err, "utf8") };
}
let calls = 0;

/** Until a call is served: the calls abandoned by an earlier test were taken (in order) first. */
async function settled(): Promise<void> {
  await until(
    () =>
      Bun.spawnSync([OCI, "--version"], {
        env: env({ LEOPARD_SERVE: "1", LEOPARD_SERVE_WAIT_MS: "30000" }),
        stdout: "ignore",
        stderr: "ignore",
      }).exitCode === 0,
    30_000,
    "a served call",
  );
}

beforeAll(async () => {
  server = Bun.spawn([OCI, "serve", "--socket", join(dir, "leopard-oci.sock"), "--workers", "1"], {
    env: process.env,
    stdout: "ignore",
    stderr: "inherit",
  });
  await until(
    () =>
      Bun.spawnSync([OCI, "--version"], {
        env: env({ LEOPARD_SERVE: "1" }),
        stdout: "ignore",
        stderr: "ignore",
      }).exitCode === 0,
    30_000,
    "a served --version",
  );
});

afterAll(async () => {
  process.kill(server.pid, "SIGCONT");
  for (const w of workers()) process.kill(w, "SIGCONT");
  server.kill("SIGTERM");
  await server.exited;
  rmSync(dir, { recursive: true, force: true });
});

describe("a wedged server (every worker stopped, the supervisor running)", () => {
  test("state of a missing container answers, with runc's error and status, instead of hanging", async () => {
    await settled();
    const stopped = workers();
    expect(stopped.length).toBeGreaterThan(0);
    for (const w of stopped) process.kill(w, "SIGSTOP");
    try {
      const r = await call(["--root", join(dir, "none"), "state", "nope"]);
      expect(r).toEqual({
        hung: false,
        code: 1,
        stdout: "",
        stderr: `leopard-oci: state nope: container "nope" does not exist\n`,
      });
      const v = await call(["--version"]);
      expect(v.hung).toBe(false);
      expect(v.code).toBe(0);
      expect(v.stdout).toStartWith("leopard-oci version");
    } finally {
      for (const w of stopped) process.kill(w, "SIGCONT");
    }
  });

  test("LEOPARD_SERVE=1 says that no worker took the call, instead of hanging (the supervisor stopped too)", async () => {
    await settled();
    // With the supervisor running, a call waiting while every worker is busy may start a fresh
    // worker that serves it; stopped as well, nothing can.
    const stopped = [server.pid, ...workers()];
    for (const w of stopped) process.kill(w, "SIGSTOP");
    try {
      const r = await call(["--version"], env({ LEOPARD_SERVE: "1" }));
      expect(r.hung).toBe(false);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe("leopard-oci: not served (LEOPARD_SERVE=1): no worker took the call in time\n");
    } finally {
      for (const w of stopped) process.kill(w, "SIGCONT");
    }
  });

  test("a call the launcher gave up on runs once: the worker that takes it later does nothing", async () => {
    const b = use(bundle({ args: ["/bin/sleep", "60"] }));
    await settled();
    const stopped = workers();
    for (const w of stopped) process.kill(w, "SIGSTOP");
    try {
      const created = await call(["--root", b.root, "create", "c1"], env(), b.dir);
      expect(created).toEqual({ hung: false, code: 0, stdout: "", stderr: "" });
      // Removed directly: were the abandoned call acted on later, c1 would be back.
      expect(
        (await call(["--root", b.root, "delete", "--force", "c1"], env({ LEOPARD_SERVE: "0" }))).code,
      ).toBe(0);
    } finally {
      for (const w of stopped) process.kill(w, "SIGCONT");
    }
    // Calls are taken in order: once a new one is served, the abandoned ones were handled.
    await until(
      () =>
        Bun.spawnSync([OCI, "--version"], {
          env: env({ LEOPARD_SERVE: "1" }),
          stdout: "ignore",
          stderr: "ignore",
        }).exitCode === 0,
      30_000,
      "a served call after SIGCONT",
    );
    const gone = await call(["--root", b.root, "state", "c1"], env({ LEOPARD_SERVE: "0" }));
    expect(gone.stderr).toBe(`leopard-oci: state c1: container "c1" does not exist\n`);
  });
});
