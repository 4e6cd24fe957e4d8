// `leopard-oci serve`: warm workers answer the C launcher (native/launch.c). These tests start a
// server of their own on a private socket, run real containers through bin/leopard-oci with
// LEOPARD_SERVE=1 (not being served is then an error, never a silent fallback), and check what
// must not change: output, exit statuses, signals, and that containers descend from the caller.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ALL_SEALS, sealsOf } from "../../src/serve/sealed-image.ts";
import { bundle, OCI, oci, readState, trackBundles, until } from "../integration/harness.ts";

const HELPER = join(import.meta.dir, "../../native/build/leopard-helper");

const dir = mkdtempSync(join(tmpdir(), "leopard-serve-"));
const socket = join(dir, "leopard-oci.sock");
let server: ReturnType<typeof Bun.spawn>;
const use = trackBundles();

/** The environment of a launcher that must be served by our server. */
function served(extra: Record<string, string> = {}): Record<string, string | undefined> {
  return {
    ...process.env,
    LEOPARD_SERVE_DIR: dir,
    LEOPARD_SERVE: "1",
    LEOPARD_SERVE_WAIT_MS: "30000",
    ...extra,
  };
}

function workers(): number[] {
  const kids = readFileSync(`/proc/${server.pid}/task/${server.pid}/children`, "utf8").trim();
  return kids === "" ? [] : kids.split(" ").map(Number);
}

function ppid(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

beforeAll(async () => {
  server = Bun.spawn([OCI, "serve", "--socket", socket, "--workers", "2"], {
    env: process.env,
    stdout: "ignore",
    stderr: "inherit",
  });
  await until(() => existsSync(socket), 20_000, "the server's socket");
  // Workers load the CLI before they accept; the first answer proves one is up.
  await until(
    () =>
      Bun.spawnSync([OCI, "--version"], { env: served(), stdout: "ignore", stderr: "ignore" }).exitCode === 0,
    30_000,
    "a served --version",
  );
});

afterAll(async () => {
  server.kill("SIGTERM");
  await server.exited;
  rmSync(dir, { recursive: true, force: true });
});

describe("leopard-oci serve", () => {
  test("the socket is the server's alone (0600 in a 0700 directory)", () => {
    const { statSync } = require("node:fs") as typeof import("node:fs");
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o077).toBe(0); // mkdtemp's own 0700
  });

  test("run: the container's output, stderr and exit status reach the caller", () => {
    const b = use(bundle({ args: ["/bin/sh", "-c", "echo out; echo err >&2; exit 7"] }));
    const r = Bun.spawnSync([OCI, "--root", b.root, "run", "c1"], {
      env: served(),
      cwd: b.dir,
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(r.stdout.toString()).toBe("out\n");
    expect(r.stderr.toString()).toBe("err\n");
    expect(r.exitCode).toBe(7);
  });

  test("the container descends from the launcher (its helper is the launcher's child), and a signal to the launcher reaches the container", async () => {
    // PID 1 of a pid namespace ignores a signal it has no handler for: this one traps TERM.
    const b = use(bundle({ args: ["/bin/sh", "-c", "trap 'exit 42' TERM; while :; do sleep 0.1; done"] }));
    const launcher = Bun.spawn([OCI, "--root", b.root, "run", "c1"], {
      env: served(),
      cwd: b.dir,
      stdout: "ignore",
      stderr: "pipe",
    });
    await until(() => oci(b, ["state", "c1"]).stdout.includes('"running"'), 20_000, "the container to run");
    const pid = readState(b, "c1")["pid"] as number;
    const helper = ppid(pid);
    expect(ppid(helper)).toBe(launcher.pid);
    expect(workers()).not.toContain(ppid(helper));
    launcher.kill("SIGTERM"); // forwarded to the worker, which forwards it to the container
    expect(await launcher.exited).toBe(42);
    expect(await new Response(launcher.stderr).text()).toBe("");
  });

  test("the helper a served call starts runs from a sealed in-memory image of itself (CVE-2019-5736)", async () => {
    const b = use(bundle({ args: ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"] }));
    const launcher = Bun.spawn([OCI, "--root", b.root, "run", "s1"], {
      env: served(),
      cwd: b.dir,
      stdout: "ignore",
      stderr: "pipe",
    });
    await until(() => oci(b, ["state", "s1"]).stdout.includes('"running"'), 20_000, "the container to run");
    const helper = ppid(readState(b, "s1")["pid"] as number);
    expect(ppid(helper)).toBe(launcher.pid);
    expect(readlinkSync(`/proc/${helper}/exe`)).toStartWith("/memfd:leopard-helper");
    const exe = openSync(`/proc/${helper}/exe`, "r");
    try {
      expect(sealsOf(exe) & ALL_SEALS).toBe(ALL_SEALS);
      expect(readFileSync(`/proc/self/fd/${exe}`)).toEqual(readFileSync(HELPER));
    } finally {
      closeSync(exe);
    }
    launcher.kill("SIGTERM");
    expect(await launcher.exited).toBe(0);
  });

  test("create, start, state, kill, delete: each call served, the container outlives the calls", async () => {
    const b = use(bundle({ args: ["/bin/sleep", "60"] }));
    const call = (args: string[]) =>
      Bun.spawnSync([OCI, "--root", b.root, ...args], {
        env: served(),
        cwd: b.dir,
        stdout: "pipe",
        stderr: "pipe",
      });
    expect(call(["create", "c1"]).exitCode).toBe(0);
    expect(JSON.parse(call(["state", "c1"]).stdout.toString())["status"]).toBe("created");
    expect(call(["start", "c1"]).exitCode).toBe(0);
    expect(JSON.parse(call(["state", "c1"]).stdout.toString())["status"]).toBe("running");
    expect(call(["kill", "c1", "KILL"]).exitCode).toBe(0);
    await until(() => call(["state", "c1"]).stdout.toString().includes('"stopped"'), 10_000, "stopped");
    expect(call(["delete", "c1"]).exitCode).toBe(0);
    const gone = call(["state", "c1"]);
    expect(gone.exitCode).toBe(1);
    expect(gone.stderr.toString()).toContain(`container "c1" does not exist`);
  });

  test("an error is the CLI's own one-line error and status", () => {
    const r = Bun.spawnSync([OCI, "--root", join(dir, "none"), "state", "nope"], {
      env: served(),
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.toString()).toBe(`leopard-oci: state nope: container "nope" does not exist\n`);
  });

  test("exec into a running container: output and status", () => {
    const b = use(bundle({ args: ["/bin/sleep", "60"] }));
    expect(oci(b, ["run", "-d", "c1"]).code).toBe(0);
    const r = Bun.spawnSync([OCI, "--root", b.root, "exec", "c1", "/bin/sh", "-c", "hostname; exit 3"], {
      env: served(),
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(r.stdout.toString()).toBe("leopard\n");
    expect(r.exitCode).toBe(3);
    expect(oci(b, ["delete", "--force", "c1"]).code).toBe(0);
  });

  test("a caller in another mount namespace is declined, and runs directly without LEOPARD_SERVE=1", () => {
    const unshared = (env: Record<string, string | undefined>) =>
      Bun.spawnSync(["unshare", "-m", "--propagation", "unchanged", OCI, "--version"], {
        env,
        stdout: "pipe",
        stderr: "pipe",
      });
    const refused = unshared(served());
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr.toString()).toContain("declined: another mnt namespace");
    const direct = unshared({ ...served(), LEOPARD_SERVE: undefined });
    expect(direct.exitCode).toBe(0);
    expect(direct.stdout.toString()).toStartWith("leopard-oci version");
  });

  test("without a server the launcher runs Bun itself; LEOPARD_SERVE=1 then says why", () => {
    const env = { ...process.env, LEOPARD_SERVE_DIR: join(dir, "absent") };
    const direct = Bun.spawnSync([OCI, "--version"], { env, stdout: "pipe", stderr: "pipe" });
    expect(direct.exitCode).toBe(0);
    const refused = Bun.spawnSync([OCI, "--version"], {
      env: { ...env, LEOPARD_SERVE: "1" },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr.toString()).toContain("absent/leopard-oci.sock: No such file or directory");
  });

  test("a second server on the same socket is refused", () => {
    const r = Bun.spawnSync([OCI, "serve", "--socket", socket], { env: process.env, stderr: "pipe" });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.toString()).toContain("is already served by another process");
  });

  test("servers started at once on one socket: one serves, the others say it is served", async () => {
    // Callers may start servers at the same moment (src/serve/autostart.ts): without the socket
    // directory's lock, one could unlink the socket another had just bound, which then served
    // nobody until it idled out.
    const raceDir = join(dir, "race");
    const sock = join(raceDir, "leopard-oci.sock");
    const starts = [0, 1, 2, 3].map(() =>
      Bun.spawn([OCI, "serve", "--socket", sock, "--idle-exit", "30"], {
        env: process.env,
        stdout: "ignore",
        stderr: "pipe",
      }),
    );
    try {
      // Three exit, refused; one stays and serves.
      await until(() => starts.filter((s) => s.exitCode !== null).length >= 3, 30_000, "three refusals");
      await Bun.sleep(200);
      const ended = await Promise.all(
        starts.map(async (s) => ({
          code: s.exitCode ?? "running",
          err: s.exitCode === null ? "" : await new Response(s.stderr).text(),
        })),
      );
      const running = ended.filter((e) => e.code === "running");
      const refused = ended.filter((e) => e.code === 1);
      expect(running.length).toBe(1);
      expect(refused.length).toBe(3);
      for (const r of refused) expect(r.err).toContain("is already served by another process");
      const v = Bun.spawnSync([OCI, "--version"], {
        env: { ...served(), LEOPARD_SERVE_DIR: raceDir },
        stdout: "pipe",
        stderr: "pipe",
      });
      expect(v.exitCode).toBe(0);
    } finally {
      for (const s of starts) s.kill("SIGTERM");
      await Promise.all(starts.map((s) => s.exited));
    }
  });
});

describe("stopping", () => {
  test("SIGTERM removes the socket and every idle worker exits", async () => {
    const sock = join(dir, "stop", "leopard-oci.sock");
    const s = Bun.spawn([OCI, "serve", "--socket", sock, "--workers", "1"], {
      env: process.env,
      stderr: "inherit",
    });
    await until(() => existsSync(sock), 20_000, "the socket");
    await until(
      () =>
        Bun.spawnSync([OCI, "--version"], {
          env: { ...served(), LEOPARD_SERVE_DIR: join(dir, "stop") },
          stdout: "ignore",
          stderr: "ignore",
        }).exitCode === 0,
      30_000,
      "a served call",
    );
    const kids = readFileSync(`/proc/${s.pid}/task/${s.pid}/children`, "utf8").trim().split(" ").map(Number);
    expect(kids.length).toBeGreaterThan(0);
    s.kill("SIGTERM");
    expect(await s.exited).toBe(0);
    expect(existsSync(sock)).toBe(false);
    for (const k of kids) expect(existsSync(`/proc/${k}`)).toBe(false);
  });
});
