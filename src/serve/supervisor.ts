// `leopard-oci serve` / `leopard serve`: keeps warm workers waiting on a unix socket so that each
// call of the launcher (native/launch.c) skips Bun's start-up and the CLI's module loading. The
// supervisor only binds the socket and keeps `workers` idle workers: each worker takes one
// connection, tells us ("busy") so we start its successor, runs the command and exits.
//
// Nothing depends on it: with no server (or one that declines) the launcher runs Bun directly.
// The socket's directory is the server's alone: one it finds must belong to its uid, have mode
// 0700 and not be a symlink, else it does not serve; the socket is made 0600 by the umask around
// bind (a chmod by path could be sent elsewhere by a symlink). Workers serve only a caller with
// their own uid, namespaces, root and privileges (worker.ts).

import { ptr } from "bun:ffi";
import { lstatSync, mkdirSync, statSync, unlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeAll } from "../sys/io.ts";
import { check, cstr, libc } from "../sys/libc.ts";
import { closeFd, connectUnix } from "../sys/seqpacket.ts";
import { LeopardError } from "../util/errors.ts";

const AF_UNIX = 1;
const SOCK_SEQPACKET = 5;
const SOCK_CLOEXEC = 0o2000000;
const SOCK_NONBLOCK = 0o4000; // every worker polls, then accepts: whoever loses gets EAGAIN
/** Workers that die before taking a connection this many times in a row stop the server. */
const MAX_EARLY_DEATHS = 5;

export interface ServeOptions {
  name: "leopard-oci" | "leopard";
  socket: string;
  workers: number;
  /** The checkout's top directory: workers run build/cli/<name>.js on the pinned Bun. */
  top: string;
  /** Called once the socket is bound and the first workers were started. */
  onReady?: () => void;
}

/** The `serve` verb of both CLIs: --socket PATH, --workers N (default 2). */
export async function serveVerb(name: ServeOptions["name"], v: Record<string, unknown>): Promise<number> {
  const socket = v["socket"];
  const workers = v["workers"] === undefined ? 2 : Number(v["workers"]);
  if (!Number.isInteger(workers) || workers < 1)
    throw new LeopardError(
      "invalid-argument",
      `--workers "${String(v["workers"])}" is not a positive integer`,
    );
  return serve({
    name,
    socket: typeof socket === "string" ? socket : defaultSocket(name),
    workers,
    // This module is src/serve/supervisor.ts, or inlined in build/cli/<name>.js: both two
    // levels below the checkout.
    top: fileURLToPath(new URL("../..", import.meta.url)),
  });
}

export function defaultSocket(name: string): string {
  return `${process.env["LEOPARD_SERVE_DIR"] || "/run/leopard-serve"}/${name}.sock`;
}

/** The bundle's mtime as the launcher formats it ("%lld.%09ld"). */
export function bundleStamp(bundle: string): string {
  const ns = statSync(bundle, { bigint: true }).mtimeNs;
  return `${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, "0")}`;
}

/** Makes dir (0700) unless it exists; refuses one that is not the server's alone. */
export function socketDir(dir: string): void {
  const old = process.umask(0o077);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } finally {
    process.umask(old);
  }
  const st = lstatSync(dir);
  const uid = process.geteuid?.() ?? 0;
  if (st.isSymbolicLink())
    throw new LeopardError("invalid-argument", `socket directory "${dir}" is a symlink, not a directory`);
  if (!st.isDirectory())
    throw new LeopardError("invalid-argument", `socket directory "${dir}" is not a directory`);
  if (st.uid !== uid)
    throw new LeopardError(
      "invalid-argument",
      `socket directory "${dir}" belongs to uid ${st.uid}, not ${uid}`,
    );
  if ((st.mode & 0o7777) !== 0o700)
    throw new LeopardError(
      "invalid-argument",
      `socket directory "${dir}" has mode ${(st.mode & 0o7777).toString(8).padStart(4, "0")}, not 0700`,
    );
}

function listen(path: string): number {
  socketDir(dirname(path));
  try {
    const fd = connectUnix(path, "seqpacket");
    closeFd(fd);
    throw new LeopardError("invalid-argument", `${path} is already served by another process`);
  } catch (e) {
    if (e instanceof LeopardError) throw e;
  }
  try {
    unlinkSync(path);
  } catch {}
  const fd = check(libc().socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), "socket");
  const bytes = cstr(path);
  if (bytes.length > 108) throw new LeopardError("invalid-argument", `socket path "${path}" is too long`);
  const addr = new Uint8Array(110);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(bytes, 2);
  // The socket is born 0600: no chmod by path afterwards.
  const old = process.umask(0o177);
  try {
    check(libc().bind(fd, ptr(addr), 110), "bind", path);
  } finally {
    process.umask(old);
  }
  check(libc().listen(fd, 128), "listen", path);
  return fd;
}

type Worker = ReturnType<typeof spawnWorker>;

function spawnWorker(bundle: string, name: string, fd: number) {
  const env = { ...process.env, LEOPARD_SERVE_WORKER: name, LEOPARD_SERVE_STAMP: bundleStamp(bundle) };
  return Bun.spawn([process.execPath, bundle], { env, stdio: ["pipe", "pipe", "inherit", fd] });
}

/** Runs until SIGTERM or SIGINT; returns the exit status. */
export async function serve(o: ServeOptions): Promise<number> {
  const bundle = join(o.top, "build/cli", `${o.name}.js`);
  try {
    statSync(bundle);
  } catch {
    throw new LeopardError("invalid-argument", `${bundle} is missing: run make first`);
  }
  const fd = listen(o.socket);
  const bound = lstatSync(o.socket).ino;
  const minIdle = Math.max(1, o.workers);
  const maxIdle = minIdle + 2;
  const idle = new Set<Worker>();
  const all = new Set<Worker>();
  let stopping = false;
  let earlyDeaths = 0;
  let failed = false;
  let wake: () => void = () => {};
  const stop = (w: Worker) => {
    try {
      w.stdin.end(); // EOF on its control pipe: it exits before taking another connection
    } catch {}
  };
  const start = () => {
    const w = spawnWorker(bundle, o.name, fd);
    all.add(w);
    idle.add(w);
    let served = false;
    void (async () => {
      const text = new TextDecoder();
      for await (const chunk of w.stdout) {
        for (const line of text.decode(chunk).split("\n")) {
          if (line === "busy") {
            served = true;
            earlyDeaths = 0;
            idle.delete(w);
            if (!stopping && idle.size < minIdle) start();
          } else if (line === "idle") {
            idle.add(w);
            if (stopping || idle.size > maxIdle) {
              idle.delete(w);
              stop(w);
            }
          }
        }
      }
    })();
    void w.exited.then(() => {
      all.delete(w);
      idle.delete(w);
      if (stopping) return;
      if (!served && ++earlyDeaths >= MAX_EARLY_DEATHS) {
        failed = true;
        writeAll(2, `${o.name} serve: workers keep dying before they take a request; stopping\n`);
        wake();
      } else if (idle.size < minIdle) setTimeout(start, served ? 0 : 100 * earlyDeaths);
    });
  };
  for (let i = 0; i < minIdle; i++) start();
  o.onReady?.();
  await new Promise<void>((resolve) => {
    wake = resolve;
    process.on("SIGTERM", resolve);
    process.on("SIGINT", resolve);
  });
  stopping = true;
  try {
    // Only our own socket: another server may have taken the path since.
    if (lstatSync(o.socket).ino === bound) unlinkSync(o.socket);
  } catch {}
  closeFd(fd);
  // Idle workers exit at once; busy ones finish their command first.
  for (const w of all) stop(w);
  await Promise.all([...all].map((w) => w.exited));
  return failed ? 1 : 0;
}
