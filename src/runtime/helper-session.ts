// One conversation with the C helper, the same for create, run and exec: the fd table the helper
// inherits (numbers handed out as fds are added, then given to the planner), the socketpair, the
// spawn, the PLAN frame, and every message back, each handled by one typed handler in the order
// the plan fixes (src/protocol/sequence.ts; the ladder is in src/protocol/ops.ts above SyncTag).
// A timeout bounds each wait; on any failure what exists is killed before the error is thrown.

import type { Step } from "../plan/plan.ts";
import { decodeMessage, type HelperMessage, ProtocolError } from "../protocol/decode.ts";
import { planFrame, resumeFrame } from "../protocol/encode.ts";
import { SyncTag } from "../protocol/ops.ts";
import { type Expected, MessageSequence } from "../protocol/sequence.ts";
import { closeFd, connectUnix, recvMsg, sendMsg, socketPair, TimeoutError } from "../sys/seqpacket.ts";
import { mark } from "../sys/trace.ts";
import { describe, LeopardError } from "../util/errors.ts";
import { describeFailure } from "./describe.ts";
import { helperPath } from "./helper-path.ts";
import { writeIdMaps } from "./idmap-write.ts";
import { handOverListener } from "./seccomp-listener.ts";
import { type HelperProcess, type HelperStdio, type Spawner, spawnHelper } from "./spawn.ts";
import { copyWindowSize } from "./terminal.ts";
import { Timings } from "./timings.ts";

/** How long the runtime waits for each of the helper's messages before it kills it. */
export const HELPER_TIMEOUT_MS = 60_000;

/** What the caller does at each of the helper's stops; sync 3 (window size) the session does itself. */
export interface SyncHandlers {
  /** sync 1: the user namespace exists; these maps go to /proc/<pid>/uid_map and gid_map. */
  idMaps?: { uid: string; gid: string } | null | undefined;
  /** sync 1, once the maps are written (before the helper resumes): the id-map probe opens the namespace. */
  idMapped?(pid: number): void;
  /** sync 2: put the helper (its pid) into the container's cgroup. */
  cgroup?(pid: number): void;
  /** sync 4: the runtime's own hooks (init's pid as the runtime sees it). */
  hooks?(initPid: number): void;
  /** sync 5: the listener fd of a seccomp filter (the process's pid), for the seccomp agent. */
  seccompListener?(fd: number, pid: number): void;
}

export interface SessionOptions {
  /** --preserve-fds: the caller's fds 3 … 3+N-1 pass through at the same numbers. */
  preserveFds: number;
  /** The helper's stdin, stdout and stderr: the caller's, or /dev/null (the engine's `exec -d`), or each its own. */
  stdio?: "inherit" | "ignore" | [HelperStdio[number], HelperStdio[number], HelperStdio[number]] | undefined;
  /** Once the process's pid is known, wait without a limit (exec: a frozen cgroup may hold it). */
  untimedAfterPid?: boolean | undefined;
  /** A word for messages: "the container" or "the process". */
  what: string;
  /** Trace marks (LEOPARD_TRACE) for create's phases, which create-killed.test.ts kills at. */
  marks?: boolean | undefined;
  /** How long to wait for each message (default HELPER_TIMEOUT_MS). */
  timeoutMs?: number | undefined;
  /** How the helper is started (default spawnHelper: in the caller's process tree). */
  spawn?: Spawner | undefined;
}

/** A number in the helper's fd table whose fd is given later (create's FIFO exists only once the id is claimed). */
export interface FdSlot {
  readonly number: number;
  fill(fd: number): void;
}

export class HelperSession implements Disposable {
  /** The sync socket's number in the helper (the first after the preserved fds). */
  readonly syncFd: number;
  /** The runtime's phases and the helper's op times, for --explain. */
  readonly timings = new Timings();
  private readonly table: (number | undefined)[] = [];
  private readonly opts: SessionOptions;
  private ours = -1;
  private helperProcess: HelperProcess | undefined;
  private steps: readonly Step[] = [];
  private sequence: MessageSequence | undefined;
  /** The process the plan forks (init, or the exec'd process), as the runtime sees it; 0 until PID. */
  pid = 0;
  /** The pty master, when the plan sends one over the sync socket. */
  pty: number | undefined;

  constructor(opts: SessionOptions) {
    this.opts = opts;
    this.syncFd = this.reserve().number;
  }

  /** Passes our fd to the helper at the next number, which is returned; the session closes ours. */
  add(fd: number): number {
    this.table.push(fd);
    return 3 + this.opts.preserveFds + this.table.length - 1;
  }

  /** The next number, for an fd given later with fill(). */
  reserve(): FdSlot {
    const at = this.table.length;
    this.table.push(undefined);
    return {
      number: 3 + this.opts.preserveFds + at,
      fill: (fd) => {
        this.table[at] = fd;
      },
    };
  }

  get helper(): HelperProcess {
    if (this.helperProcess === undefined)
      throw new LeopardError("protocol", "the helper has not been started");
    return this.helperProcess;
  }

  /** Spawns the helper with the fd table and sends it the plan; `spawned` runs first with its pid. */
  start(steps: readonly Step[], spawned?: (pid: number) => void): void {
    const [ours, theirs] = socketPair();
    this.ours = ours;
    this.table[0] = theirs;
    const std = this.opts.stdio ?? "inherit";
    const stdio: HelperStdio = typeof std === "string" ? [std, std, std] : [...std];
    for (let i = 0; i < this.opts.preserveFds; i++) stdio.push({ caller: 3 + i });
    for (const [i, fd] of this.table.entries()) {
      if (fd === undefined)
        throw new LeopardError(
          "protocol",
          `fd ${3 + this.opts.preserveFds + i} of the helper was never given`,
        );
      stdio.push(fd);
    }
    try {
      this.helperProcess = (this.opts.spawn ?? spawnHelper)([helperPath(), String(this.syncFd)], stdio);
    } catch (e) {
      throw new LeopardError("helper", `cannot start the helper: ${describe(e)}`, { cause: e });
    } finally {
      this.closeTable(); // the helper holds its own copies now
    }
    this.timings.phase("spawn the helper");
    // Started, waiting for its plan, and not yet named in the state directory (a test kills
    // create here). Sending the plan before the spawn, so that the helper need not wait through
    // this record, was measured: served `run` 1.007x, 0.992x, 0.993x; direct 1.038x (no gain).
    this.mark("create: helper started");
    spawned?.(this.helperProcess.pid);
    this.mark("create: helper spawned");
    this.steps = steps;
    this.sequence = new MessageSequence(steps.map((s) => s.op));
    sendMsg(ours, planFrame(steps.map((s) => s.op)));
  }

  /**
   * Handles the helper's messages until READY (init blocks on the start FIFO): create. A detached
   * create closes the socket then; a foreground one keeps it for untilExec.
   */
  async untilReady(on: SyncHandlers): Promise<void> {
    for (;;) {
      const m = await this.next(on);
      if (m === "eof")
        throw new LeopardError("helper", `the helper exited before ${this.opts.what} was ready`);
      if (m.type === "ready") return;
    }
  }

  /** Handles the helper's messages until EOF, which its execve makes: exec, and run after start. */
  async untilExec(on: SyncHandlers): Promise<void> {
    for (;;) {
      const m = await this.next(on);
      if (m !== "eof") continue;
      if (this.pid === 0)
        throw new LeopardError("helper", `the helper exited before ${this.opts.what} started`);
      this.closeSocket();
      return;
    }
  }

  /** Handles the helper's messages until EOF, for a plan that neither forks nor execs: it ends. */
  async untilEnd(on: SyncHandlers): Promise<void> {
    for (;;) {
      const m = await this.next(on);
      if (m !== "eof") continue;
      if (!this.sequence?.complete)
        throw new LeopardError("helper", `the helper exited before ${this.opts.what} was done`);
      this.closeSocket();
      return;
    }
  }

  /** One message: checked against the plan's order and handled. */
  private async next(on: SyncHandlers): Promise<HelperMessage | "eof"> {
    const sequence = this.sequence;
    if (sequence === undefined) throw new LeopardError("protocol", "the helper has not been started");
    const timeout =
      this.pid !== 0 && this.opts.untimedAfterPid ? -1 : (this.opts.timeoutMs ?? HELPER_TIMEOUT_MS);
    let m: ReturnType<typeof recvMsg>;
    try {
      m = recvMsg(this.ours, timeout);
    } catch (e) {
      if (!(e instanceof TimeoutError)) throw e;
      throw new LeopardError("helper", `the helper sent nothing for ${timeout / 1000} s`, { cause: e });
    }
    if (m === null) return "eof";
    let msg: HelperMessage;
    let planned: Expected | undefined;
    try {
      msg = decodeMessage(m.data);
      if (msg.type !== "error") planned = sequence.accept(msg);
    } catch (e) {
      for (const fd of m.fds) closeFd(fd);
      if (e instanceof ProtocolError) throw new LeopardError("protocol", e.message, { cause: e });
      throw e;
    }
    switch (msg.type) {
      case "sync": {
        const began = performance.now();
        this.onSync(msg.tag, msg.pid, m.fds, on);
        if (planned) this.timings.sync(planned.index, performance.now() - began);
        sendMsg(this.ours, resumeFrame(msg.tag));
        break;
      }
      case "pid":
        this.pid = msg.pid;
        this.timings.helper(msg.times);
        this.mark("create: init forked");
        break;
      case "pty":
        this.pty = m.fds[0];
        for (const extra of m.fds.slice(1)) closeFd(extra);
        break;
      case "ready":
        this.timings.helper(msg.times);
        break;
      case "error":
        for (const fd of m.fds) closeFd(fd);
        // The reporting process exits by itself; its parent (which mirrors it) follows.
        if (this.pid !== 0) await this.helper.exited;
        throw new LeopardError("helper", describeFailure(msg, this.steps[msg.index]?.op), {
          errno: msg.errno,
          path: msg.path,
        });
    }
    return msg;
  }

  private onSync(tag: number, pid: number, fds: readonly number[], on: SyncHandlers): void {
    switch (tag) {
      case SyncTag.ID_MAPS:
        if (!on.idMaps)
          throw new LeopardError("protocol", "the helper asked for id maps but none were planned");
        writeIdMaps(pid, on.idMaps);
        on.idMapped?.(pid);
        this.mark("create: id maps written");
        return;
      case SyncTag.CGROUP:
        on.cgroup?.(pid);
        this.mark("create: cgroup joined");
        return;
      case SyncTag.TERMINAL:
        if (this.pty !== undefined) copyWindowSize(this.pty);
        return;
      case SyncTag.HOOKS:
        // init's pid as we see it (its SYNC carries its own view)
        on.hooks?.(this.pid);
        this.mark("create: hooks run");
        return;
      case SyncTag.SECCOMP_LISTENER:
        handOverListener(fds, (fd) => {
          if (on.seccompListener === undefined)
            throw new LeopardError("protocol", "the helper sent a seccomp listener none was planned for");
          on.seccompListener(fd, this.pid);
        });
        return;
      default:
        // The sequence accepts only the plan's tags; a plan with a tag we do not know is our bug.
        throw new LeopardError("protocol", `the plan has sync ${tag}, which the runtime does not handle`);
    }
  }

  /** Kills what the helper made (the process it forked, then itself); for a failed launch. */
  kill(): void {
    // Killed before their socket closes, so neither sees (and reports) the EOF.
    for (const target of [this.pid, this.helperProcess?.pid ?? 0]) {
      if (target === 0) continue;
      try {
        process.kill(target, "SIGKILL");
      } catch {
        // ESRCH: it has exited already, which is what we want.
      }
    }
  }

  /** Our end of the sync socket, closed (a detached create is done with the helper). */
  closeSocket(): void {
    if (this.ours >= 0) closeFd(this.ours);
    this.ours = -1;
  }

  private mark(phase: string): void {
    if (this.opts.marks) mark(phase);
  }

  private closeTable(): void {
    for (const fd of this.table) if (fd !== undefined) closeFd(fd);
    this.table.fill(undefined);
  }

  [Symbol.dispose](): void {
    this.closeTable();
    this.closeSocket();
  }
}

/** A connection to a --console-socket (the helper's PTY mode CONSOLE sends the master over it). */
export function connectConsole(path: string): number {
  try {
    return connectUnix(path);
  } catch (e) {
    throw new LeopardError("invalid-argument", `cannot connect to console socket "${path}": ${describe(e)}`, {
      cause: e,
    });
  }
}
