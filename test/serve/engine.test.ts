// `leopard serve`: the engine's warm workers. A server of the test's own on a private socket;
// calls with LEOPARD_SERVE=1 must be served (or fail saying why), so nothing passes by falling
// back to a direct run unnoticed.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { ENV, LEOPARD, leftovers, removeAll, TOP, until } from "../engine/harness.ts";

setDefaultTimeout(60_000);
const dir = mkdtempSync(join(tmpdir(), "leopard-serve-engine-"));
const socket = join(dir, "leopard.sock");
let server: ReturnType<typeof Bun.spawn>;
// conmon runs bin/leopard-oci with our environment: LEOPARD_SERVE=1 holds there too.
let ociServer: ReturnType<typeof Bun.spawn>;
const NONE = ["--network", "none"];

async function call(args: string[], stdin?: string) {
  const p = Bun.spawn([LEOPARD, ...args], {
    env: { ...ENV, LEOPARD_SERVE_DIR: dir, LEOPARD_SERVE: "1", LEOPARD_SERVE_WAIT_MS: "30000" },
    stdin: stdin === undefined ? "ignore" : new Blob([stdin]),
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
  ociServer = Bun.spawn([join(TOP, "bin/leopard-oci"), "serve", "--socket", join(dir, "leopard-oci.sock")], {
    env: ENV,
    stdout: "ignore",
    stderr: "inherit",
  });
  await until("the servers' sockets", () => existsSync(socket) && existsSync(join(dir, "leopard-oci.sock")));
  for (let t = 0; (await call(["version"])).code !== 0; t++) {
    if (t > 200) throw new Error("leopard serve never answered");
    await Bun.sleep(100);
  }
});

afterAll(async () => {
  await removeAll();
  server.kill("SIGTERM");
  ociServer.kill("SIGTERM");
  await Promise.all([server.exited, ociServer.exited]);
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

  test("run -d, logs, stop, start, rm -f: all served, conmon started by the launcher; attach is left to the caller", async () => {
    const started = await call(["run", "-d", ...NONE, "busybox", "sh", "-c", "echo up; sleep 100"]);
    expect(started.err).toBe("");
    expect(started.code).toBe(0);
    const id = started.out.trim();
    expect((await call(["ps", "-q", "--no-trunc"])).out).toContain(id);
    await until("the log line", async () => (await call(["logs", id])).out === "up\n");
    expect((await call(["stop", "-t", "1", id])).code).toBe(0);
    expect((await call(["start", id])).code).toBe(0);
    await until("the second log line", async () => (await call(["logs", id])).out === "up\nup\n");
    const attach = await call(["attach", id]);
    expect(attach.code).toBe(125);
    expect(attach.err).toContain("declined: attach runs in the caller");
    expect((await call(["rm", "-f", id])).code).toBe(0);
    expect(leftovers()).toEqual([]);
  });

  test("docker's habits, served: stdin only with -i, a foreground run logged, -w made, ps --format", async () => {
    expect(await call(["run", "--rm", ...NONE, "busybox", "cat"], "piped\n")).toEqual({
      out: "",
      err: "",
      code: 0,
    });
    expect(await call(["run", "--rm", "-i", ...NONE, "busybox", "cat"], "piped\n")).toEqual({
      out: "piped\n",
      err: "",
      code: 0,
    });
    const fg = await call(["run", "--name", "servedfg", ...NONE, "-w", "/made/here", "busybox", "pwd"]);
    expect(fg).toEqual({ out: "/made/here\n", err: "", code: 0 });
    expect((await call(["logs", "servedfg"])).out).toBe("/made/here\n");
    const ps = await call(["ps", "-a", "--filter", "name=servedfg", "--format", "{{.Names}} {{.State}}"]);
    expect(ps.out).toBe("servedfg exited\n");
    const json = await call(["ps", "-a", "--filter", "name=servedfg", "--format", "json"]);
    expect(JSON.parse(json.out.trim()).Names).toBe("servedfg");
    expect((await call(["rm", "servedfg"])).code).toBe(0);
    expect(leftovers()).toEqual([]);
  });

  test("cp, served: out of a running container's volume, and a tar stream both ways", async () => {
    const started = await call([
      "run",
      "-d",
      ...NONE,
      "--name",
      "servedcp",
      "-v",
      "servedvol:/data",
      "busybox",
      "sh",
      "-c",
      "echo in-volume > /data/f; sleep 100",
    ]);
    expect(started.code).toBe(0);
    await until(
      "the file in the volume",
      async () => (await call(["exec", "servedcp", "cat", "/data/f"])).out === "in-volume\n",
    );
    const dest = join(dir, "copied");
    expect(await call(["cp", "servedcp:/data/f", dest])).toEqual({ out: "", err: "", code: 0 });
    expect(readFileSync(dest, "utf8")).toBe("in-volume\n");
    const p = Bun.spawn([LEOPARD, "cp", "servedcp:/data/f", "-"], {
      env: { ...ENV, LEOPARD_SERVE_DIR: dir, LEOPARD_SERVE: "1", LEOPARD_SERVE_WAIT_MS: "30000" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const tar = new Uint8Array(await new Response(p.stdout).arrayBuffer());
    expect(await p.exited).toBe(0);
    const names = Bun.spawnSync(["tar", "-tf", "-"], { stdin: tar }).stdout.toString();
    expect(names).toBe("f\n");
    expect((await call(["rm", "-f", "servedcp"])).code).toBe(0);
    expect((await call(["volume", "rm", "servedvol"])).code).toBe(0);
    expect(leftovers()).toEqual([]);
  });

  test("a served import unpacks on the worker's own unpack threads, and the caller's stdout and stderr still end", async () => {
    // A gzip rootfs tarball of a few thousand small files: enough work to show on a thread's clock.
    const src = join(dir, "tree");
    mkdirSync(`${src}/d`, { recursive: true });
    for (let i = 0; i < 3000; i++) writeFileSync(`${src}/d/f${i}`, `file ${i}\n`.repeat(50));
    const tarball = join(dir, "tree.tar.gz");
    expect(Bun.spawnSync(["tar", "-czf", tarball, "-C", src, "."]).exitCode).toBe(0);
    // Started during each worker's warm-up (one per core, at most three), before any caller; a
    // worker that served a verb that is not reusable is replaced by one that may still be warming.
    const threads = Math.min(availableParallelism(), 3);
    await until("warm serve workers", () => {
      const ws = serveWorkers(server.pid);
      return ws.length > 0 && ws.every((w) => unpackThreads(w).length === threads);
    });
    const workers = serveWorkers(server.pid);
    const before = workers.map(threadTicks);
    // call() reads stdout and stderr to their end: a thread holding a copy of either would hang it.
    const r = await call(["--storage", join(dir, "store"), "import", tarball, "tree:1"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const spent = workers.map((w, i) => threadTicks(w) - (before[i] ?? 0));
    expect(Math.max(...spent)).toBeGreaterThan(0);
    const listed = await call(["--storage", join(dir, "store"), "images"]);
    expect(listed.out).toContain("tree");
  });
});

/** The supervisor's worker processes (its children). */
function serveWorkers(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
}

/** A process's threads named leopard-unpack (unpack-thread.ts names them). */
function unpackThreads(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/task`).filter(
      (t) => readFileSync(`/proc/${pid}/task/${t}/comm`, "utf8").trim() === "leopard-unpack",
    );
  } catch {
    return []; // the process exited meanwhile
  }
}

/** CPU clock ticks (user and system) the process's unpack threads have used. */
function threadTicks(pid: number): number {
  let n = 0;
  for (const t of unpackThreads(pid)) {
    const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    n += Number(fields[11]) + Number(fields[12]);
  }
  return n;
}
