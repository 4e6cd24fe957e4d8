// `leopard-oci serve` / `leopard serve`: keeps warm workers waiting on a unix socket so that each
// call of the launcher (native/launch.c) skips Bun's start-up and the CLI's module loading. This
// file reads serve's flags, binds the socket (or takes it from systemd: LISTEN_FDS) and then
// execs the keeper (native/keeper.c) with every number decided: it keeps `workers` idle workers
// (default 1): a worker that takes a connection tells it ("busy"); with one, another is started
// only when a call waits in the socket's queue while every worker is busy (calls overlap); with
// more, at once. A surplus idle worker is retired after it has idled `retireAfter` ms. With
// `idleExit`, the server exits once no call came for that long (the default when systemd started
// it: the next call starts it again).
//
// Nothing depends on it: with no server (or one that declines) the launcher runs Bun directly.
// The socket's directory is the server's alone: one it finds must belong to its uid, have mode
// 0700 and not be a symlink, else it does not serve; the socket is made 0600 by the umask around
// bind (a chmod by path could be sent elsewhere by a symlink). Workers serve only a caller with
// their own uid, namespaces, root and privileges (worker.ts).

import { execve } from "../sys/execve.ts";
import { existsSync, lstatSync, mkdirSync, statSync, unlinkSync } from "../sys/fs-sync.ts";
import { open } from "../sys/io.ts";
import { check, cstr, libc } from "../sys/libc.ts";
import { closeFd, connectUnix } from "../sys/seqpacket.ts";
import { LeopardError } from "../util/errors.ts";
import { bundleDir, bundlePath } from "../util/layout.ts";
import { dirname, join } from "../util/path.ts";
import { firstCallRules } from "./first-call.ts";
import { defaultServeDir } from "./serve-dir.ts";
import { bundleStamp } from "./stamp.ts";

const AF_UNIX = 1;
const SOCK_SEQPACKET = 5;
const SOCK_CLOEXEC = 0o2000000;
const SOCK_NONBLOCK = 0o4000; // every worker polls, then accepts: whoever loses gets EAGAIN
const O_RDONLY = 0;
const O_DIRECTORY = 0o200000;
const LOCK_EX = 2;

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
export function serveVerb(name: ServeOptions["name"], v: Record<string, unknown>): Promise<number> {
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

/** The socket the launcher looks for by default (./serve-dir.ts): `serve` without --socket binds it. */
export function defaultSocket(name: string): string {
  let usernsIno = 0;
  try {
    usernsIno = statSync("/proc/self/ns/user").ino;
  } catch {
    // No /proc: not taken for the initial user namespace (defaultServeDir).
  }
  const dir = defaultServeDir({ env: process.env, euid: process.geteuid?.() ?? 0, usernsIno });
  if (dir === undefined)
    throw new LeopardError(
      "invalid-argument",
      "XDG_RUNTIME_DIR is not set: a user's server listens in $XDG_RUNTIME_DIR/leopard-serve (or pass --socket PATH)",
    );
  return `${dir}/${name}.sock`;
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
  check(libc().getsockopt(fd, SOL_SOCKET, opt, v, len), "getsockopt");
  return v[0]!;
}

/** The path a unix socket is bound to. */
function boundPath(fd: number): string {
  const addr = new Uint8Array(112);
  const len = new Uint32Array([110]);
  check(libc().getsockname(fd, addr, len), "getsockname");
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
  // Two servers starting at once (callers that each started one: autostart.ts) must not both
  // find the path free: one would unlink the other's fresh socket. The directory's lock is held
  // from the check to listen(); the loser then finds the path served.
  const lock = open(dirname(path), O_RDONLY | O_DIRECTORY);
  try {
    check(libc().flock(lock, LOCK_EX), "flock", dirname(path));
    return bindFree(path);
  } finally {
    closeFd(lock);
  }
}

function bindFree(path: string): number {
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
    check(libc().bind(fd, addr, 110), "bind", path);
  } finally {
    process.umask(old);
  }
  check(libc().listen(fd, 128), "listen", path);
  return fd;
}

/** F_SETFD/F_GETFD: the listening socket must survive the exec into the keeper. */
const F_GETFD = 1;
const F_SETFD = 2;
const FD_CLOEXEC = 1;

/** The keeper: beside the bundles when installed (lib/leopard), else the checkout's native/build. */
export function keeperPath(): string {
  const installed = join(bundleDir(), "leopard-keeper");
  return existsSync(installed) ? installed : join(bundleDir(), "../../native/build/leopard-keeper");
}

/** The keeper's command line: every number it acts on, decided here (native/keeper.c). */
export function keeperArgv(
  o: ServeOptions,
  keeper: string,
  fd: number,
  ino: bigint,
  command: readonly string[],
): string[] {
  return [
    keeper,
    o.name,
    o.bundle,
    String(fd),
    String(Math.max(1, o.workers)),
    String(o.idleExitMs ?? 0),
    String(o.retireAfterMs),
    o.listenFd === undefined ? "0" : "1",
    o.socket,
    String(ino),
    "--",
    ...command,
  ];
}

/**
 * A worker's command line: the bundle on our Bun, reading no .env and no bunfig.toml from the
 * directory the server was started in (a preload there would run in every worker, as the server's
 * user), as the launcher runs Bun directly.
 */
export function workerCommand(bundle: string): string[] {
  return [process.execPath, "--no-env-file", "--config=/dev/null", bundle];
}

/**
 * The environment the keeper and its workers get: ours, without what the launcher added for this
 * short-lived process only (LEOPARD_DIRECT_ENV names it: Bun without the JIT, which long-lived
 * workers want).
 */
export function keeperEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const out = { ...env };
  for (const k of (env["LEOPARD_DIRECT_ENV"] ?? "").split(",")) if (k !== "") delete out[k];
  delete out["LEOPARD_DIRECT_ENV"];
  return out;
}

/**
 * Binds the socket (or adopts systemd's), serves the call that started a socket-activated server,
 * and becomes the keeper (native/keeper.c): a C program of ~1 MB that keeps the warm workers,
 * where a Bun supervisor held ~50 MB (the Bun executable's pages, counted once per process). Its
 * policy is the numbers given here; the pid stays the one systemd (or the caller) started.
 * Returns only if the exec fails.
 */
export async function serve(o: ServeOptions): Promise<number> {
  const bundle = o.bundle;
  try {
    statSync(bundle);
  } catch {
    throw new LeopardError("invalid-argument", `${bundle} is missing: run make first`);
  }
  const keeper = keeperPath();
  try {
    statSync(keeper);
  } catch {
    throw new LeopardError("invalid-argument", `${keeper} is missing: run make first`);
  }
  const activated = o.listenFd !== undefined;
  const fd = activated ? o.listenFd! : listen(o.socket);
  if (activated) adoptListener(fd);
  const ino = activated ? 0n : BigInt(lstatSync(o.socket).ino);
  try {
    const first = activated ? firstCallRules(o.name, bundleStamp(bundle)) : undefined;
    if (first !== undefined) await (await import("./worker.ts")).serveWaiting(fd, first);
    const flags = check(libc().fcntl(fd, F_GETFD, 0), "fcntl");
    check(libc().fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC), "fcntl");
    execve(keeper, keeperArgv(o, keeper, fd, ino, workerCommand(bundle)), keeperEnv(process.env));
  } catch (e) {
    if (!activated) unlinkSync(o.socket);
    throw e;
  }
}
