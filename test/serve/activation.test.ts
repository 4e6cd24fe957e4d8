// Socket activation without systemd as init: systemd-socket-activate listens as systemd's .socket
// unit would (SOCK_SEQPACKET, LISTEN_FDS/LISTEN_PID) and starts `leopard-oci serve` on the first
// connection. The server takes that socket, answers the call that started it, and exits once it
// has been idle for --idle-exit. (The VM test with systemd as init, activation.systemd.test.ts,
// checks the .socket/.service units and re-activation.) Also here: one idle worker by default,
// more only while calls overlap, the surplus retired after --retire-after.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundle, OCI, trackBundles, until } from "../integration/harness.ts";

setDefaultTimeout(90_000);
const ACTIVATE = Bun.which("systemd-socket-activate");
const base = mkdtempSync(join(tmpdir(), "leopard-activation-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const use = trackBundles();

function children(pid: number): number[] {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    return kids === "" ? [] : kids.split(" ").map(Number);
  } catch {
    return [];
  }
}

/** systemd-socket-activate on dir/leopard-oci.sock, starting `leopard-oci serve ARGS` on the first call. */
function activator(dir: string, args: string[]) {
  const socket = join(dir, "leopard-oci.sock");
  const env = Object.entries(process.env).flatMap(([k, v]) => (v === undefined ? [] : ["-E", `${k}=${v}`]));
  const p = Bun.spawn([ACTIVATE!, "--seqpacket", "-l", socket, ...env, OCI, "serve", ...args], {
    env: process.env,
    stdout: "ignore",
    stderr: "pipe",
  });
  return { p, socket };
}

/** The server's stderr without the activator's own lines ("Listening on …", "Execing …"). */
function ours(stderr: string): string {
  return stderr
    .split("\n")
    .filter((l) => !/^(Listening on|Communication attempt|Execing) /.test(l))
    .join("\n");
}

/** A served call: LEOPARD_SERVE=1, with time for a server that is starting to take it. */
function served(dir: string, args: string[], cwd = base) {
  return Bun.spawnSync([OCI, ...args], {
    env: { ...process.env, LEOPARD_SERVE_DIR: dir, LEOPARD_SERVE: "1", LEOPARD_SERVE_WAIT_MS: "30000" },
    cwd,
    stdout: "pipe",
    stderr: "pipe",
  });
}

describe.skipIf(ACTIVATE === null)("socket activation (LISTEN_FDS)", () => {
  test("the first call starts the server and is served by it; idle, the server exits with status 0", async () => {
    const dir = mkdtempSync(join(base, "run-"));
    const { p, socket } = activator(dir, ["--idle-exit", "2"]);
    await until(() => existsSync(socket), 20_000, "the activator's socket");
    expect(children(p.pid)).toEqual([]); // nothing runs before the first call
    const b = use(bundle({ args: ["/bin/sh", "-c", "echo hello; exit 3"] }));
    const r = served(dir, ["--root", b.root, "run", "c1"], b.dir);
    expect(r.stdout.toString()).toBe("hello\n");
    expect(r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(3);
    // Served by the server's own process (the CLI loaded to take the socket), which then became
    // the keeper (the same pid) and started a worker; the next call is the worker's.
    await until(() => children(p.pid).length > 0, 20_000, "the keeper's worker");
    expect(readlinkSync(`/proc/${p.pid}/exe`)).toEndWith("/leopard-keeper");
    expect(served(dir, ["--version"], b.dir).exitCode).toBe(0);
    expect(await p.exited).toBe(0);
    expect(ours(await new Response(p.stderr).text())).toBe("");
  });

  test("the first call's caller leaves nothing in the keeper or its workers: environment, stdio, cwd, open-file limit", async () => {
    const dir = mkdtempSync(join(base, "leak-"));
    const { p, socket } = activator(dir, ["--idle-exit", "2"]);
    await until(() => existsSync(socket), 20_000, "the activator's socket");
    const cwd = mkdtempSync(join(base, "caller-"));
    // The caller: its own variable, its own cwd, a lower open-file limit, stdout a file of its own.
    const out = join(cwd, "out");
    const r = Bun.spawnSync(["/bin/sh", "-c", `ulimit -Sn 512; exec "$@" > ${out}`, "sh", OCI, "--version"], {
      env: {
        ...process.env,
        LEOPARD_SERVE_DIR: dir,
        LEOPARD_SERVE: "1",
        LEOPARD_SERVE_WAIT_MS: "30000",
        CALLERS_OWN: "secret",
      },
      cwd,
      stderr: "pipe",
    });
    expect(r.stderr.toString()).toBe("");
    expect(readFileSync(out, "utf8")).toStartWith("leopard-oci version ");
    await until(() => children(p.pid).length > 0, 20_000, "the keeper's worker");
    for (const pid of [p.pid, ...children(p.pid)]) {
      const environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
      expect(environ.filter((e) => /^(CALLERS_OWN|BUN_JSC_useJIT|LEOPARD_DIRECT_ENV)=/.test(e))).toEqual([]);
      expect(readlinkSync(`/proc/${pid}/cwd`)).not.toBe(cwd);
      for (const fd of [0, 1, 2]) expect(readlinkSync(`/proc/${pid}/fd/${fd}`)).not.toBe(out);
      expect(readFileSync(`/proc/${pid}/limits`, "utf8")).not.toMatch(/^Max open files\s+512\s/m);
    }
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  });

  test("a passed socket in a directory others may enter is refused, as one the server binds", async () => {
    const dir = mkdtempSync(join(base, "open-"));
    chmodSync(dir, 0o755);
    const { p, socket } = activator(dir, []);
    await until(() => existsSync(socket), 20_000, "the activator's socket");
    const r = Bun.spawnSync([OCI, "--version"], {
      env: { ...process.env, LEOPARD_SERVE_DIR: dir },
      stdout: "pipe",
      stderr: "pipe",
    });
    // The call runs directly; the server it started refuses the directory and exits.
    expect(r.exitCode).toBe(0);
    expect(r.stdout.toString()).toStartWith("leopard-oci version");
    expect(await p.exited).toBe(1);
    expect(ours(await new Response(p.stderr).text())).toBe(
      `leopard-oci: serve: socket directory "${dir}" has mode 0755, not 0700\n`,
    );
  });
});

describe("workers", () => {
  test("one idle worker; a second only while calls overlap, retired once it has idled", async () => {
    const dir = mkdtempSync(join(base, "workers-"));
    const s = Bun.spawn([OCI, "serve", "--socket", join(dir, "leopard-oci.sock"), "--retire-after", "1"], {
      env: process.env,
      stdout: "ignore",
      stderr: "inherit",
    });
    try {
      await until(() => served(dir, ["--version"]).exitCode === 0, 30_000, "a served call");
      await until(() => children(s.pid).length === 1, 30_000, "one idle worker");
      // Two calls at once: each holds a worker until its container exits.
      const b = use(bundle({ args: ["/bin/sleep", "3"] }));
      const env = {
        ...process.env,
        LEOPARD_SERVE_DIR: dir,
        LEOPARD_SERVE: "1",
        LEOPARD_SERVE_WAIT_MS: "30000",
      };
      const calls = ["c1", "c2"].map((id) =>
        Bun.spawn([OCI, "--root", b.root, "run", id], { env, cwd: b.dir, stdout: "ignore", stderr: "pipe" }),
      );
      await until(() => children(s.pid).length >= 2, 30_000, "a second worker while the calls overlap");
      expect(await Promise.all(calls.map((c) => c.exited))).toEqual([0, 0]);
      await until(() => children(s.pid).length === 1, 30_000, "the surplus worker to retire");
    } finally {
      s.kill("SIGTERM");
      await s.exited;
    }
  });
});
