// A warm worker of `serve`: a Bun process with the CLI already loaded (and, after a few requests,
// compiled by the JIT), waiting on the server's socket. For each launcher's request it becomes
// that caller (its cwd, environment, open-file limit and stdio), runs the command line through
// the CLI's own main(), has the launcher start the helper (so containers descend from the
// caller), sends the exit status, and puts everything back. After a command that binds process
// state to the caller (a terminal relay, a stream like `events`) or fails unexpectedly, the
// worker exits instead of serving again.
//
// It declines (the launcher then runs Bun itself, with the caller's own credentials) when it would
// not be the same as the caller running the command: another uid, mount/pid/net/user/uts/ipc/
// cgroup namespace or root directory, other privileges (capability sets, securebits,
// no_new_privs, seccomp mode, LSM label: a caller under a seccomp filter is always declined, as
// filters cannot be compared), another build of the CLI, or an open-file limit it cannot take.
// The caller is pinned while it is checked: by its pidfd (SO_PEERPIDFD, Linux 6.5), else by its
// pid's start time, read at accept and again before the worker acts, so a recycled pid cannot
// stand in for it.
import { constants } from "node:os";
import { helperPath } from "../runtime/helper-path.ts";
import { type HelperProcess, type HelperStdio, type SpawnOptions, setSpawner } from "../runtime/spawn.ts";
import { isTainted, setCallerPid } from "../sys/caller.ts";
import { statSync } from "../sys/fs-sync.ts";
import { O_CLOEXEC, open, readText, writeAll } from "../sys/io.ts";
import { check, errno, libc, SysError } from "../sys/libc.ts";
import { pidfdClose, pidfdWait } from "../sys/pidfd.ts";
import { ownSecurebits, type Privileges, privileges } from "../sys/privileges.ts";
import { processStartTime } from "../sys/procstat.ts";
import { getRlimit, RLIMIT_NOFILE, setRlimit } from "../sys/rlimit.ts";
import { closeFd, recvMsg, sendMsg, waitReadable } from "../sys/seqpacket.ts";
import { traceFrom } from "../sys/trace.ts";
import { LeopardError } from "../util/errors.ts";
import type { WorkOptions } from "./first-call.ts";
import { sealedImage } from "./sealed-image.ts";
import { bundleStamp } from "./stamp.ts";
import {
  decodeLauncherMessage,
  decodeRequest,
  encodeAccepted,
  encodeExit,
  encodeFallback,
  encodeKill,
  encodeSpawn,
  type FdSource,
  type LauncherMessage,
  type Request,
  waitStatusCode,
} from "./wire.ts";

const O_RDWR = 2;
const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const SO_PEERPIDFD = 77;
const SOCK_CLOEXEC = 0o2000000;
const EINTR = 4;
const NAMESPACES = ["mnt", "pid", "net", "user", "uts", "ipc", "cgroup"] as const;
const REQUEST_TIMEOUT_MS = 10_000;
const STALE = "another build of the CLI";

/** The fd the supervisor passes the listening socket on, and the env naming the worker's build. */
export const LISTEN_FD = 3;

/** The process that connected: pinned by its pidfd, or else by its pid's start time at accept. */
interface Peer {
  pid: number;
  uid: number;
  pidfd: number | undefined;
  start: string | undefined;
}

function peer(fd: number): Peer {
  const cred = new Int32Array(3);
  const len = new Uint32Array([12]);
  check(libc().getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, len), "getsockopt");
  const pid = cred[0]!;
  const uid = cred[1]!;
  const pidfd = new Int32Array(1);
  const pidfdLen = new Uint32Array([4]);
  if (libc().getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, pidfd, pidfdLen) === 0) {
    const p = { pid, uid, pidfd: pidfd[0]!, start: undefined };
    // The pidfd's own pid (fdinfo): -1 once the process is gone.
    const named = /^Pid:\s*(-?\d+)$/m.exec(readText(`/proc/self/fdinfo/${p.pidfd}`))?.[1];
    if (Number(named) !== pid) {
      pidfdClose(p.pidfd);
      return { pid, uid, pidfd: undefined, start: undefined };
    }
    return p;
  }
  return { pid, uid, pidfd: undefined, start: processStartTime(pid) };
}

/** Whether the peer's pid still names the process that connected (it has not exited). */
function stillThere(p: Peer): boolean {
  if (p.pidfd !== undefined) return pidfdWait(p.pidfd, 0) === "timeout";
  return p.start !== undefined && processStartTime(p.pid) === p.start;
}

/** A process's privileges and securebits, as a worker compares them with its own. */
export type Standing = Privileges & { securebits: number };

const COMPARED: [keyof Privileges, string][] = [
  ["effective", "effective capabilities are"],
  ["permitted", "permitted capabilities are"],
  ["inheritable", "inheritable capabilities are"],
  ["bounding", "capability bounding set is"],
  ["ambient", "ambient capabilities are"],
  ["noNewPrivs", "no_new_privs is"],
  ["seccomp", "seccomp mode is"],
  ["label", "LSM label is"],
];

/**
 * Why a caller with these privileges may not be served by a worker with those, or undefined:
 * every set, bit and label must be the worker's own, and a seccomp filter (which cannot be
 * compared with another) is never served.
 */
export function privilegesMismatch(caller: Standing, worker: Standing): string | undefined {
  for (const [key, what] of COMPARED)
    if (caller[key] !== worker[key])
      return `the caller's ${what} ${JSON.stringify(caller[key])}, not the worker's ${JSON.stringify(worker[key])}`;
  if (caller.securebits !== worker.securebits)
    return `the caller's securebits are 0x${caller.securebits.toString(16)}, not the worker's 0x${worker.securebits.toString(16)}`;
  if (caller.seccomp === "2")
    return "the caller has a seccomp filter, which cannot be compared with the worker's";
  return undefined;
}

let own: Standing | undefined;

/** Why this worker cannot act for pid, or undefined when it can. */
export function mismatch(pid: number, req: Request, name: string, stamp: string): string | undefined {
  if (req.name !== name) return `asked for ${req.name}`;
  if (req.stamp !== stamp) return STALE;
  for (const ns of NAMESPACES) {
    try {
      if (statSync(`/proc/${pid}/ns/${ns}`).ino !== statSync(`/proc/self/ns/${ns}`).ino)
        return `another ${ns} namespace`;
    } catch {
      return `cannot compare the ${ns} namespace`;
    }
  }
  const root = statSync(`/proc/${pid}/root/`);
  const ours = statSync("/");
  if (root.ino !== ours.ino || root.dev !== ours.dev) return "another root directory";
  let theirs: Privileges;
  try {
    theirs = privileges(pid);
  } catch (e) {
    return `cannot read the caller's privileges: ${e instanceof Error ? e.message : String(e)}`;
  }
  own ??= { ...privileges("self"), securebits: ownSecurebits() };
  const why = privilegesMismatch({ ...theirs, securebits: req.securebits }, own);
  if (why !== undefined) return why;
  // Another cgroup is fine: the helper starts in the caller's (the launcher forks it) and a
  // relative cgroupsPath resolves against the caller's (callerPid). Only the worker's own CPU
  // time is charged to the server's cgroup, as a daemon's would be.
  return undefined;
}

/** The sealed image a program is executed through, if any: the C helper's (./sealed-image.ts). */
export type ImageOf = (program: string) => number | undefined;

const helperImage: ImageOf = (program) => (program === helperPath() ? sealedImage(program) : undefined);

/** Helper starts go to the launcher; statuses come back as "C" messages. */
export class Remote {
  private statuses = new Map<number, number>();
  /** Children whose exit the launcher reported: their pids may be other processes' by now. */
  private ended = new Set<number>();
  private waiters = new Map<number, (code: number) => void>();
  private pumping = false;
  private closed = false;

  constructor(
    private conn: number,
    private imageOf: ImageOf = helperImage,
  ) {}

  /** The request is over: its connection closes (and its fd number will be reused). */
  close(): void {
    this.closed = true;
    this.waiters.clear();
  }

  private handle(m: LauncherMessage): LauncherMessage | undefined {
    if (m.type !== "child") return m;
    const code = waitStatusCode(m.status);
    this.ended.add(m.pid);
    const w = this.waiters.get(m.pid);
    if (w) {
      this.waiters.delete(m.pid);
      w(code);
    } else this.statuses.set(m.pid, code);
    return undefined;
  }

  private next(timeoutMs: number): LauncherMessage | undefined {
    const m = recvMsg(this.conn, timeoutMs);
    if (m === null) throw new LeopardError("system", "the launcher went away");
    for (const fd of m.fds) closeFd(fd);
    return this.handle(decodeLauncherMessage(m.data));
  }

  /** Reads "C" messages while someone waits; polls with a backoff (Bun cannot watch a raw fd). */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      // A short run first: a poll of up to 2 ms wakes the moment the launcher reports the exit
      // (sleeping and doubling, as below, saw an exit at 7.5 ms only at 15 ms: half the time of a
      // served `run /bin/true`), and the event loop runs between slices. After 100 ms it is a
      // long one: sleep, backing off up to 50 ms.
      let waited = 0;
      let delay = 1;
      while (this.waiters.size > 0 && !this.closed) {
        if (waited < SHORT_RUN_MS) {
          if (waitReadable(this.conn, SLICE_MS)) this.next(0);
          else waited += SLICE_MS;
          await Bun.sleep(0);
        } else if (waitReadable(this.conn, 0)) {
          this.next(0);
          delay = 1;
        } else {
          await Bun.sleep(delay);
          delay = Math.min(delay * 2, 50);
        }
      }
    } catch {
      // The launcher is gone: nobody is left to report these exits.
      for (const w of this.waiters.values()) w(255);
      this.close();
    } finally {
      this.pumping = false;
    }
  }

  /**
   * Asks the launcher to signal its child pid: it does so only while the child is not reaped,
   * and we ask only while its exit was not reported (reports already sent are read first).
   */
  private kill(pid: number, sig: NodeJS.Signals | number): void {
    if (this.closed) return;
    const signal = typeof sig === "number" ? sig : constants.signals[sig];
    try {
      while (waitReadable(this.conn, 0)) this.next(0);
      if (this.ended.has(pid)) return;
      sendMsg(this.conn, encodeKill(pid, signal));
    } catch {
      // The launcher is gone: it signals nothing any more, and neither do we.
    }
  }

  spawn(argv: string[], stdio: HelperStdio, own?: SpawnOptions): HelperProcess {
    const map: [number, FdSource][] = [];
    const attached: number[] = [];
    const opened: number[] = [];
    stdio.forEach((s, target) => {
      if (s === "inherit") map.push([target, { launcher: target }]);
      else if (typeof s === "object") map.push([target, { launcher: s.caller }]);
      else {
        let fd = s;
        if (fd === "ignore") {
          fd = open("/dev/null", O_RDWR | O_CLOEXEC);
          opened.push(fd);
        }
        map.push([target, { attached: attached.length }]);
        attached.push(fd);
      }
    });
    // The image is ours and stays open (it is not in `opened`): the launcher gets a copy.
    const image = argv[0] === undefined ? undefined : this.imageOf(argv[0]);
    const exec: FdSource | undefined = image === undefined ? undefined : { attached: attached.length };
    if (image !== undefined) attached.push(image);
    try {
      sendMsg(this.conn, encodeSpawn(argv, map, own, exec), attached);
    } finally {
      for (const fd of opened) closeFd(fd);
    }
    let reply: LauncherMessage | undefined;
    while (reply === undefined) reply = this.next(30_000);
    if (reply.type === "failed") throw new SysError("execve", reply.errno, argv[0]);
    if (reply.type !== "started")
      throw new LeopardError("protocol", `unexpected ${reply.type} from the launcher`);
    const pid = reply.pid;
    const exited = new Promise<number>((resolve) => {
      const done = this.statuses.get(pid);
      if (done !== undefined) resolve(done);
      else {
        this.waiters.set(pid, resolve);
        // From the event loop, not now: the pump's first slice blocks for up to SLICE_MS, and
        // our caller (create, with the helper just started) has work to do before it waits.
        // Started here, that slice cost every served create and run ~2 ms.
        setImmediate(() => void this.pump());
      }
    });
    return { pid, exited, kill: (sig) => this.kill(pid, sig) };
  }
}

const POLLIN = 1;
const EAGAIN = 11;
/** How long a child's exit is waited for by polling the launcher's socket, in slices of SLICE_MS. */
const SHORT_RUN_MS = 100;
const SLICE_MS = 2;

/** Idle this long after a call, a worker collects the call's garbage (RSS goes back down). */
const GC_AFTER_MS = 1000;

/** The next connection, or undefined when the supervisor says stop (or is gone). */
function nextConnection(listen: number, control: number): number | undefined {
  const pfd = new Int32Array([control, POLLIN, listen, POLLIN]);
  let collected = false;
  for (;;) {
    pfd[1] = POLLIN; // events | revents << 16: clear the revents half
    pfd[3] = POLLIN;
    const n = libc().poll(pfd, 2, collected ? -1 : GC_AFTER_MS);
    if (n < 0) {
      if (errno() === EINTR) continue;
      throw new SysError("poll", errno());
    }
    if (n === 0) {
      Bun.gc(true);
      collected = true;
      continue;
    }
    if (pfd[1]! >>> 16 !== 0) return undefined;
    if (pfd[3]! >>> 16 === 0) continue;
    // The socket is non-blocking: another worker may have taken this connection first.
    const c = libc().accept4(listen, null, null, SOCK_CLOEXEC);
    if (c >= 0) return c;
    const e = errno();
    if (e !== EAGAIN && e !== EINTR) throw new SysError("accept4", e);
  }
}

/**
 * Serves launchers one at a time until the supervisor says stop (a byte or EOF on stdin) or a
 * command leaves process state behind that the next caller must not inherit. Never returns.
 */
export type { WorkOptions };

export async function work(o: WorkOptions): Promise<never> {
  // stdin and stdout are pipes to the supervisor; 0-2 become each caller's stdio in turn.
  const control = check(libc().dup(0), "dup");
  const status = check(libc().dup(1), "dup");
  const devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  const home = process.cwd();
  const limit = getRlimit(RLIMIT_NOFILE);
  let conn = -1;
  let sent = false;
  const finish = (code: number) => {
    if (sent || conn < 0) return;
    sent = true;
    try {
      sendMsg(conn, encodeExit(code));
    } catch {
      // The launcher is gone: nobody is left to tell the status to.
    }
  };
  process.on("exit", (code) => finish(code)); // a command that calls process.exit itself
  for (let i = 0; i < 3; i++) check(libc().dup2(devnull, i), "dup2");
  await o.prepare?.();
  for (;;) {
    for (let i = 0; i < 3; i++) check(libc().dup2(devnull, i), "dup2");
    const next = nextConnection(LISTEN_FD, control);
    if (next === undefined) process.exit(0);
    conn = next;
    sent = false;
    writeAll(status, "busy\n"); // the supervisor keeps enough idle workers
    const req = adopt(conn, o);
    if (req === undefined) {
      closeFd(conn);
      conn = -1;
      writeAll(status, "idle\n");
      continue;
    }
    const remote = new Remote(conn);
    setSpawner((argv, s, own) => remote.spawn(argv, s, own));
    let code = 1;
    let clean = true;
    try {
      code = await o.run(req.argv);
    } catch (e) {
      clean = false;
      writeAll(2, `${o.name}: ${String(e)}\n`);
    }
    finish(code);
    remote.close();
    drain(conn);
    closeFd(conn);
    conn = -1;
    if (!clean || isTainted() || !o.reusable(req.argv)) process.exit(0);
    try {
      setRlimit(RLIMIT_NOFILE, limit);
      process.chdir(home);
    } catch {
      process.exit(0); // a lowered hard limit cannot be raised again
    }
    for (let i = 0; i < 3; i++) check(libc().dup2(devnull, i), "dup2");
    writeAll(status, "idle\n");
  }
}

const F_DUPFD_CLOEXEC = 1030;

/**
 * The server's own first call: the one that socket-activated it, already waiting in the queue,
 * served by the process that took the socket (the CLI is loaded there) before it execs the keeper,
 * instead of after a worker's start (~40 ms). The same checks and the same steps as a worker's
 * call; then everything the call changed is put back (stdio, environment, cwd, open-file limit):
 * the process execs the keeper next with its own environment, so nothing of the caller's reaches
 * the keeper or its workers. Returns at once when no call waits.
 */
export async function serveWaiting(listen: number, o: WorkOptions): Promise<void> {
  const pfd = new Int32Array([listen, POLLIN]);
  if (libc().poll(pfd, 1, 0) <= 0 || ((pfd[1]! >>> 16) & POLLIN) === 0) return;
  const conn = libc().accept4(listen, null, null, SOCK_CLOEXEC);
  if (conn < 0) return; // taken meanwhile (or gone): nothing waits
  const saved = [0, 1, 2].map((i) => check(libc().fcntl(i, F_DUPFD_CLOEXEC, 3), "fcntl"));
  const env = { ...process.env };
  const home = process.cwd();
  const limit = getRlimit(RLIMIT_NOFILE);
  let sent = false;
  const finish = (code: number) => {
    if (sent) return;
    sent = true;
    try {
      sendMsg(conn, encodeExit(code));
    } catch {
      // The launcher is gone: nobody is left to tell the status to.
    }
  };
  const onExit = (code: number) => finish(code); // a command that calls process.exit itself
  process.on("exit", onExit);
  try {
    const req = adopt(conn, { ...o, keepHardLimit: true });
    if (req !== undefined) {
      const remote = new Remote(conn);
      setSpawner((argv, s, own) => remote.spawn(argv, s, own));
      let code = 1;
      try {
        code = await o.run(req.argv);
      } catch (e) {
        writeAll(2, `${o.name}: ${String(e)}\n`);
      }
      finish(code);
      remote.close();
      drain(conn);
    }
  } finally {
    process.off("exit", onExit);
    closeFd(conn);
    for (let i = 0; i < 3; i++) {
      check(libc().dup2(saved[i]!, i), "dup2");
      closeFd(saved[i]!);
    }
    for (const k of Object.keys(process.env)) delete process.env[k];
    Object.assign(process.env, env);
    process.chdir(home);
    setRlimit(RLIMIT_NOFILE, limit);
  }
}

/**
 * Waits for the launcher to hang up after our "X", reading whatever it sent meanwhile (a late
 * "C"): closing a unix socket with unread messages resets the connection, and the launcher
 * could lose the "X".
 */
function drain(conn: number): void {
  try {
    for (;;) {
      const m = recvMsg(conn, 1000);
      if (m === null) return;
      for (const fd of m.fds) closeFd(fd);
    }
  } catch {
    // The launcher hung up or reset the connection: nothing is left to drain.
  }
}

function rebuilt(stamp: string): boolean {
  try {
    return bundleStamp(process.argv[1] ?? "") !== stamp;
  } catch {
    // No stamp to read (the bundle is being replaced): treat it as rebuilt; the supervisor starts a fresh worker.
    return true;
  }
}

/** Takes the request on conn and becomes its caller; undefined (and "F" sent) when it declines. */
function adopt(conn: number, o: WorkOptions): Request | undefined {
  let stdio: number[] = [];
  let who: Peer | undefined;
  try {
    who = peer(conn);
    const msg = recvMsg(conn, REQUEST_TIMEOUT_MS);
    if (msg === null) return undefined;
    for (const fd of msg.fds) closeFd(fd);
    const req = decodeRequest(msg.data);
    const why =
      who.uid !== process.geteuid?.()
        ? "another user"
        : o.keepHardLimit && req.nofile.hard < getRlimit(RLIMIT_NOFILE).hard
          ? "an open-file hard limit below the server's"
          : (mismatch(who.pid, req, o.name, o.stamp) ?? o.declines?.(req.argv));
    if (why !== undefined) throw new LeopardError("unsupported", why);
    // Everything above was read from /proc by pid: it was the caller's only if the caller still
    // has that pid now. From here on we act.
    if (!stillThere(who))
      throw new LeopardError("bad-state", "the caller is gone (its pid may name another process now)");
    // "A", then nothing until the launcher's "G" (with its stdio): a launcher that stopped
    // waiting for us (it runs the command itself) has hung up, and we must not run it too.
    sendMsg(conn, encodeAccepted(process.pid));
    const go = recvMsg(conn, REQUEST_TIMEOUT_MS);
    if (go === null) throw new LeopardError("protocol", "the launcher did not wait for us");
    stdio = go.fds;
    if (decodeLauncherMessage(go.data).type !== "go")
      throw new LeopardError("protocol", "the launcher did not say go");
    if (stdio.length !== 3) throw new LeopardError("protocol", "no stdio");
    setRlimit(RLIMIT_NOFILE, req.nofile);
    process.chdir(req.cwd);
    // Becoming the caller: its stdio, cwd and environment, nothing of ours or a previous caller's.
    for (let i = 0; i < 3; i++) check(libc().dup2(stdio[i]!, i), "dup2");
    for (const k of Object.keys(process.env)) delete process.env[k];
    Object.assign(process.env, req.env);
    traceFrom();
    setCallerPid(who.pid);
    return req;
  } catch (e) {
    try {
      sendMsg(conn, encodeFallback(e instanceof Error ? e.message : String(e)));
    } catch {
      // The launcher hung up: it runs the command itself.
    }
    // Our bundle was rebuilt: the supervisor starts our successor from the new one. (A caller
    // from another checkout leaves us as we are.)
    if (String(e).includes(STALE) && rebuilt(o.stamp)) process.exit(0);
    return undefined;
  } finally {
    for (const fd of stdio) closeFd(fd);
    if (who?.pidfd !== undefined) pidfdClose(who.pidfd);
  }
}
