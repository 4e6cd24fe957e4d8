// The keeper (native/keeper.c) run by itself, with shell scripts as its workers: what each worker
// gets (fd 3, its env, a stdin whose EOF says stop), the number of workers it keeps as they say
// "busy" and "idle", retirement of a surplus one, SIGTERM, and workers that keep dying.
import { afterEach, expect, test } from "bun:test";
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keeperArgv } from "./supervisor.ts";

const KEEPER = join(import.meta.dir, "../../native/build/leopard-keeper");
let dir = "";
let running: ReturnType<typeof Bun.spawn> | undefined;
afterEach(async () => {
  // A failed test's keeper and its workers go too (workers first: the keeper would restart them).
  if (running !== undefined && running.exitCode === null) {
    for (const k of kids(running.pid)) process.kill(k, "SIGKILL");
    running.kill("SIGKILL");
    await running.exited;
  }
  running = undefined;
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
  dir = "";
});

function kids(pid: number): number[] {
  const t = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
  return t === "" ? [] : t.split(" ").map(Number);
}

async function until(what: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !what(); i++) await Bun.sleep(10);
  expect(what()).toBe(true);
}

/** A keeper whose workers run `script` with sh; the "socket" is a plain file opened as fd 3. */
function keeper(script: string, workers: number, retireMs = 60_000) {
  dir = mkdtempSync(join(tmpdir(), "leopard-keeper-"));
  const bundle = join(dir, "worker.sh");
  writeFileSync(bundle, script);
  const socket = join(dir, "sock");
  writeFileSync(socket, "");
  const fd = openSync(socket, "r");
  const argv = keeperArgv(
    { name: "leopard-oci", socket, workers, bundle, idleExitMs: undefined, retireAfterMs: retireMs },
    KEEPER,
    3, // Bun.spawn puts stdio[3] at fd 3
    BigInt(statSync(socket).ino),
    ["/bin/sh", bundle],
  );
  const p = Bun.spawn(argv, { stdio: ["ignore", "ignore", "pipe", fd], env: { ...process.env, OUT: dir } });
  running = p;
  closeSync(fd);
  return { p, socket, dir };
}

test("each worker gets the socket as fd 3, its name and the bundle's stamp; SIGTERM stops them (stdin EOF) and removes the socket", async () => {
  const k = keeper(
    'readlink /proc/self/fd/3 > "$OUT/w.$$"; echo "$LEOPARD_SERVE_WORKER $LEOPARD_SERVE_STAMP warm=$LEOPARD_SERVE_WARM" >> "$OUT/w.$$"; cat >/dev/null; echo stopped >> "$OUT/w.$$"\n',
    2,
  );
  await until(() => readdirSync(k.dir).filter((f) => f.startsWith("w.")).length === 2);
  expect(kids(k.p.pid).length).toBe(2);
  const mtime = statSync(join(k.dir, "worker.sh")).mtimeMs;
  for (const f of readdirSync(k.dir).filter((n) => n.startsWith("w."))) {
    await until(() => readFileSync(join(k.dir, f), "utf8").split("\n").length >= 3);
    const [fd3, env] = readFileSync(join(k.dir, f), "utf8").split("\n");
    expect(fd3).toBe(k.socket);
    const [name, stamp, warm] = env!.split(" ");
    expect(name).toBe("leopard-oci");
    expect(Math.abs(Number(stamp) * 1000 - mtime)).toBeLessThan(1);
    expect(warm).toBe("warm="); // not socket-activated: no first worker warms up after its call
  }
  k.p.kill("SIGTERM");
  expect(await k.p.exited).toBe(0);
  expect(existsSync(k.socket)).toBe(false);
  for (const f of readdirSync(k.dir).filter((n) => n.startsWith("w.")))
    expect(readFileSync(join(k.dir, f), "utf8")).toEndWith("stopped\n");
});

test("with --workers 2, a worker that says busy gets a replacement at once; a surplus idle one is retired", async () => {
  // Each worker says busy, waits for a file, says idle, then waits for stop.
  const k = keeper(
    'echo $$ >> "$OUT/started"; if mkdir "$OUT/first" 2>/dev/null; then echo busy; while [ ! -e "$OUT/done" ]; do sleep 0.02; done; echo idle; fi; cat >/dev/null\n',
    2,
    300,
  );
  const started = () => readFileSync(join(k.dir, "started"), "utf8").trim().split("\n").length;
  await until(() => existsSync(join(k.dir, "started")) && started() === 3);
  expect(kids(k.p.pid).length).toBe(3); // two idle, one busy
  writeFileSync(join(k.dir, "done"), "");
  await until(() => kids(k.p.pid).length === 2); // the third idle one is retired after 300 ms
  expect(started()).toBe(3);
  k.p.kill("SIGTERM");
  expect(await k.p.exited).toBe(0);
});

test("workers that die before taking a call stop the server with status 1 and say so", async () => {
  const k = keeper("exit 3\n", 1);
  expect(await k.p.exited).toBe(1);
  expect(await new Response(k.p.stderr).text()).toBe(
    "leopard-oci serve: workers keep dying before they take a request; stopping\n",
  );
});

test("run by hand with the wrong arguments: a one-line error and status 2", () => {
  const r = Bun.spawnSync([KEEPER, "x"], { stderr: "pipe" });
  expect(r.exitCode).toBe(2);
  expect(r.stderr.toString()).toBe(
    "leopard-keeper: run by `leopard-oci serve` and `leopard serve`, not by hand\n",
  );
});
