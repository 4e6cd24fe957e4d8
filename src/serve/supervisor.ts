// `leopard-oci serve` / `leopard serve`: keeps warm workers waiting on a unix socket so that each
// call of the launcher (native/launch.c) skips Bun's start-up and the CLI's module loading. The
// supervisor only binds the socket (or takes it from systemd: LISTEN_FDS) and keeps `workers`
// idle workers (default 1): a worker that takes a connection tells us ("busy"); with one, we
// start another only when a call waits in the socket's queue while every worker is busy (calls
// overlap); with more, at once. A surplus idle worker is retired after it has idled
// `retireAfter` ms. With `idleExit`, the server exits once no call came for that long (the
// default when systemd started it: the next call starts it again).
//
// Nothing depends on it: with no server (or one that declines) the launcher runs Bun directly.
// The socket's directory is the server's alone: one it finds must belong to its uid, have mode
// 0700 and not be a symlink, else it does not serve; the socket is made 0600 by the umask around
// bind (a chmod by path could be sent elsewhere by a symlink). Workers serve only a caller with
// their own uid, namespaces, root and privileges (worker.ts).

import { ptr } from "bun:ffi";
import { dirname } from "node:path";
import { lstatSync, mkdirSync, statSync, unlinkSync } from "../sys/fs-sync.ts";
import { writeAll } from "../sys/io.ts";
import { check, cstr, libc } from "../sys/libc.ts";
import { closeFd, connectUnix } from "../sys/seqpacket.ts";
import { LeopardError } from "../util/errors.ts";
import { bundlePath } from "../util/layout.ts";

const AF_UNIX = 1;
const SOCK_SEQPACKET = 5;
const SOCK_CLOEXEC = 0o2000000;
const SOCK_NONBLOCK = 0o4000; // every worker polls, then accepts: whoever loses gets EAGAIN
/** Workers that die before taking a connection this many times in a row stop the server. */
const MAX_EARLY_DEATHS = 5;

export interface ServeOptions {
  name: "leopard-oci" | "leopard";
  socket: string;
  /** Idle workers kept (one more only while calls overlap). */
  workers: number;
  /** The bundle the workers run (lib/leopard/<name>.js or the checkout's build/cli/<name>.js). */
  bundle: string;
  /** A listening socket systemd passed (LISTEN_FDS): used instead of binding `socket`. */
  listenFd?: number | undefined;
  /** Exit once no call came for this long (undefined: never). */
  idleExitMs?: number | undefined;
  /** A surplus idle worker exits after idling this long. */
  retireAfterMs: number;
  /** Called once the socket is bound and the first workers were started. */
  onReady?: () => void;
}

/** Default idle period of a socket-activated server before it exits. */
export const DEFAULT_IDLE_EXIT_S = 300;
/** Default idle time of a surplus worker before it is retired. */
export const DEFAULT_RETIRE_AFTER_S = 30;

function seconds(v: unknown, flag: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== "string" || v === "" || !Number.isFinite(n) || n < 0)
    throw new LeopardError("invalid-argument", `--${flag} "${String(v)}" is not a number of seconds`);
  return n;
}

/**
 * The `serve` verb of both CLIs: --socket PATH, --workers N (default 1), --idle-exit SECONDS
 * (default 300 when socket-activated, else never; 0: never), --retire-after SECONDS (default 30).
 */
export async function serveVerb(name: ServeOptions["name"], v: Record<string, unknown>): Promise<number> {
  const socket = v["socket"];
  const workers = v["workers"] === undefined ? 1 : Number(v["workers"]);
  if (!Number.isInteger(workers) || workers < 1)
    throw new LeopardError(
      "invalid-argument",
      `--workers "${String(v["workers"])}" is not a positive integer`,
    );
  const listenFd = activationFd();
  const idle = seconds(v["idle-exit"], "idle-exit", listenFd === undefined ? 0 : DEFAULT_IDLE_EXIT_S);
  return serve({
    name,
    socket: typeof socket === "string" ? socket : defaultSocket(name),
    workers,
    bundle: bundlePath(name),
    listenFd,
    idleExitMs: idle > 0 ? idle * 1000 : undefined,
    retireAfterMs: seconds(v["retire-after"], "retire-after", DEFAULT_RETIRE_AFTER_S) * 1000,
  });
}

export function defaultSocket(name: string): string {
  return `${process.env["LEOPARD_SERVE_DIR"] || "/run/leopard-serve"}/${name}.sock`;
}

/** The bundle's mtime as the launcher formats it ("%lld.%09ld"). */
export function bundleStamp(bundle: string): string {
  const ns = statSync(bundle).mtimeNs;
  return `${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, "0")}`;
}

/** Refuses a socket directory that is not the server's alone: its uid's, 0700, not a symlink. */
export function checkSocketDir(dir: string): void {
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

/** Makes dir (0700) unless it exists; refuses one that is not the server's alone. */
export function socketDir(dir: string): void {
  const old = process.umask(0o077);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } finally {
    process.umask(old);
  }
  checkSocketDir(dir);
}

const SOL_SOCKET = 1;
const SO_TYPE = 3;
const SO_ACCEPTCONN = 30;
const SO_DOMAIN = 39;
const F_GETFL = 3;
const F_SETFL = 4;
/** systemd's first passed fd (SD_LISTEN_FDS_START). */
const SD_LISTEN_FDS_START = 3;

/**
 * The listening socket systemd passed us (LISTEN_PID is ours, LISTEN_FDS 1), or undefined when
 * we were not socket-activated. The LISTEN_* variables are removed so no worker sees them.
 */
export function activationFd(): number | undefined {
  const pid = process.env["LISTEN_PID"];
  const fds = process.env["LISTEN_FDS"];
  for (const k of ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"]) delete process.env[k];
  if (pid !== String(process.pid) || fds === undefined) return undefined;
  if (fds !== "1")
    throw new LeopardError("invalid-argument", `LISTEN_FDS "${fds}" is not 1: give serve one socket`);
  return SD_LISTEN_FDS_START;
}

function sockopt(fd: number, opt: number): number {
  const v = new Int32Array(1);
  const len = new Uint32Array([4]);
  check(libc().getsockopt(fd, SOL_SOCKET, opt, ptr(v), ptr(len)), "getsockopt");
  return v[0]!;
}

/** The path a unix socket is bound to. */
function boundPath(fd: number): string {
  const addr = new Uint8Array(112);
  const len = new Uint32Array([110]);
  check(libc().getsockname(fd, ptr(addr), ptr(len)), "getsockname");
  const path = addr.subarray(2, Math.max(2, len[0]!));
  const end = path.indexOf(0);
  return new TextDecoder().decode(end < 0 ? path : path.subarray(0, end));
}

/**
 * Checks the socket systemd passed: a listening SOCK_SEQPACKET unix socket (ListenSequentialPacket=)
 * in a directory that is the server's alone, as one we bind ourselves (DirectoryMode=0700).
 * Made non-blocking: every worker polls, then accepts.
 */
function adoptListener(fd: number): string {
  if (sockopt(fd, SO_DOMAIN) !== AF_UNIX || sockopt(fd, SO_TYPE) !== SOCK_SEQPACKET)
    throw new LeopardError(
      "invalid-argument",
      `the socket systemd passed (fd ${fd}) is not a unix SOCK_SEQPACKET socket (ListenSequentialPacket=)`,
    );
  if (sockopt(fd, SO_ACCEPTCONN) !== 1)
    throw new LeopardError("invalid-argument", `the socket systemd passed (fd ${fd}) is not listening`);
  const path = boundPath(fd);
  if (!path.startsWith("/"))
    throw new LeopardError("invalid-argument", `the socket systemd passed (fd ${fd}) has no path`);
  checkSocketDir(dirname(path));
  const flags = check(libc().fcntl(fd, F_GETFL, 0), "fcntl");
  check(libc().fcntl(fd, F_SETFL, flags | SOCK_NONBLOCK), "fcntl");
  return path;
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
  } catch {
    // No stale socket there (ENOENT): bind below reports any real problem.
  }
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

/** How often the queue is looked at while every worker is busy. */
const QUEUE_POLL_MS = 10;
const POLLIN = 1;

/** Whether a connection waits in the listening socket's queue. */
function pending(fd: number): boolean {
  const pfd = new Int32Array([fd, POLLIN]);
  return libc().poll(ptr(pfd), 1, 0) > 0 && (pfd[1]! >>> 16) % 2 === 1;
}

/** first: the first worker of a socket-activated server, whose caller waits: it warms up after. */
function spawnWorker(bundle: string, name: string, fd: number, first: boolean) {
  const env: Record<string, string | undefined> = {
    ...process.env,
    LEOPARD_SERVE_WORKER: name,
    LEOPARD_SERVE_STAMP: bundleStamp(bundle),
    LEOPARD_SERVE_WARM: first ? "after" : undefined,
  };
  return Bun.spawn([process.execPath, bundle], { env, stdio: ["pipe", "pipe", "inherit", fd] });
}

/** Runs until SIGTERM or SIGINT, or until idle for idleExitMs; returns the exit status. */
export async function serve(o: ServeOptions): Promise<number> {
  const bundle = o.bundle;
  try {
    statSync(bundle);
  } catch {
    throw new LeopardError("invalid-argument", `${bundle} is missing: run make first`);
  }
  const activated = o.listenFd !== undefined;
  const fd = activated ? o.listenFd! : listen(o.socket);
  if (activated) adoptListener(fd);
  const bound = activated ? undefined : lstatSync(o.socket).ino;
  const minIdle = Math.max(1, o.workers);
  const idle = new Set<Worker>();
  const all = new Set<Worker>();
  let busy = 0;
  let stopping = false;
  let earlyDeaths = 0;
  let failed = false;
  let wake: () => void = () => {};
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  /** Arms the idle exit when no worker is busy; disarms it while one is. */
  const idleClock = () => {
    if (idleTimer !== undefined) clearTimeout(idleTimer);
    idleTimer = undefined;
    if (o.idleExitMs === undefined || stopping || busy > 0) return;
    idleTimer = setTimeout(() => wake(), o.idleExitMs);
  };
  const stop = (w: Worker) => {
    try {
      w.stdin.end(); // EOF on its control pipe: it exits before taking another connection
    } catch {
      // The worker has exited already: its control pipe is closed.
    }
  };
  /** A surplus idle worker goes once it has idled retireAfterMs and is still surplus. */
  const retireLater = (w: Worker) => {
    setTimeout(() => {
      if (!stopping && idle.has(w) && idle.size > minIdle) {
        idle.delete(w);
        stop(w);
      }
    }, o.retireAfterMs);
  };
  let watching: ReturnType<typeof setInterval> | undefined;
  /** While every worker is busy: a call waiting in the socket's queue starts another worker. */
  const watchQueue = () => {
    if (watching !== undefined) return;
    // Seen waiting twice in a row: not the next call of a sequence, which the busy worker takes
    // as soon as it is back in its poll.
    let seen = false;
    watching = setInterval(() => {
      if (stopping || idle.size > 0 || busy === 0) {
        clearInterval(watching);
        watching = undefined;
      } else if (!pending(fd)) seen = false;
      else if (seen) start();
      else seen = true;
    }, QUEUE_POLL_MS);
  };
  let started = 0;
  const start = () => {
    const w = spawnWorker(bundle, o.name, fd, activated && started++ === 0);
    all.add(w);
    idle.add(w);
    let served = false;
    let isBusy = false;
    void (async () => {
      const text = new TextDecoder();
      for await (const chunk of w.stdout) {
        for (const line of text.decode(chunk).split("\n")) {
          if (line === "busy") {
            served = true;
            earlyDeaths = 0;
            idle.delete(w);
            if (!isBusy) busy++;
            isBusy = true;
            idleClock();
            if (!stopping && idle.size < minIdle) {
              // Another worker only while calls overlap: one waits and none is idle.
              if (idle.size === 0 && o.workers === 1) watchQueue();
              else start();
            }
          } else if (line === "idle") {
            if (isBusy) busy--;
            isBusy = false;
            idle.add(w);
            idleClock();
            if (stopping) {
              idle.delete(w);
              stop(w);
            } else if (idle.size > minIdle) retireLater(w);
          }
        }
      }
    })();
    void w.exited.then(() => {
      all.delete(w);
      idle.delete(w);
      if (isBusy) busy--;
      isBusy = false;
      idleClock();
      if (stopping) return;
      if (!served && ++earlyDeaths >= MAX_EARLY_DEATHS) {
        failed = true;
        writeAll(2, `${o.name} serve: workers keep dying before they take a request; stopping\n`);
        wake();
      } else if (idle.size < minIdle) setTimeout(start, served ? 0 : 100 * earlyDeaths);
    });
  };
  for (let i = 0; i < minIdle; i++) start();
  idleClock();
  o.onReady?.();
  await new Promise<void>((resolve) => {
    wake = resolve;
    process.on("SIGTERM", resolve);
    process.on("SIGINT", resolve);
  });
  stopping = true;
  if (idleTimer !== undefined) clearTimeout(idleTimer);
  if (watching !== undefined) clearInterval(watching);
  if (!activated) {
    try {
      // Only our own socket: another server may have taken the path since.
      if (lstatSync(o.socket).ino === bound) unlinkSync(o.socket);
    } catch {
      // Gone already: nothing of ours to remove.
    }
  }
  // systemd keeps its own copy of a passed socket: calls queued on it start us again.
  closeFd(fd);
  // Idle workers exit at once; busy ones finish their command first.
  for (const w of all) stop(w);
  await Promise.all([...all].map((w) => w.exited));
  return failed ? 1 : 0;
}
