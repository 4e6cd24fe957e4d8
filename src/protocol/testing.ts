// Test harness: runs the real compiled helper (native/build/leopard-helper) with one end of a
// SOCK_SEQPACKET pair as its sync socket, and speaks the protocol on the other end.
import { dlopen, FFIType, ptr } from "bun:ffi";
import type { Subprocess } from "bun";
import { closeFd, recvMsg, sendMsg, socketPair } from "../sys/seqpacket.ts";
import { decodeMessage, type HelperMessage } from "./decode.ts";
import { planFrame } from "./encode.ts";
import type { Op } from "./ops.ts";

export const REPO = new URL("../../", import.meta.url).pathname;
export const HELPER = `${REPO}native/build/leopard-helper`;
/** The op index of errors found before any op ran (malformed frames). */
export const FRAME_LEVEL = 0xffffffff;

export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EBADF: 9,
  EACCES: 13,
  EXDEV: 18,
  ELOOP: 40,
  EPROTO: 71,
  EMSGSIZE: 90,
} as const;

/** Builds the helper like `make -C native`, so `bun test` works on a clean checkout. */
export function buildHelper(): void {
  const r = Bun.spawnSync(["make", "-s", "-C", `${REPO}native`], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0)
    throw new Error(`make -C native failed:\n${r.stdout.toString()}${r.stderr.toString()}`);
}

/**
 * Bun raises RLIMIT_NOFILE to the hard limit at startup and each spawned child then sweeps every
 * fd below it (20,000 fcntl calls, about 20 ms a spawn here). A lower soft limit keeps the tests
 * fast. Returns the function that restores the old limit.
 */
export function lowerFdLimit(soft = 1024): () => void {
  const RLIMIT_NOFILE = 7;
  const { symbols, close } = dlopen("libc.so.6", {
    getrlimit: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
    setrlimit: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  });
  const old = new BigUint64Array(2);
  symbols.getrlimit(RLIMIT_NOFILE, ptr(old));
  const lower = new BigUint64Array([BigInt(Math.min(soft, Number(old[0]))), old[1]!]);
  symbols.setrlimit(RLIMIT_NOFILE, ptr(lower));
  return () => {
    symbols.setrlimit(RLIMIT_NOFILE, ptr(old));
    close();
  };
}

export type Exit = { code: number | null; signal: string | null; stdout: string; stderr: string };

export type RunOptions = {
  /** argv before the helper, e.g. setpriv or unshare. */
  prefix?: readonly string[];
  /** fds given to the helper as 4, 5, ... (preserved fds). */
  extraFds?: readonly number[];
  cwd?: string;
};

/** One helper process; `using` closes the socket and kills the process if it is still there. */
export class HelperRun implements Disposable {
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  private sock: number;

  constructor(options: RunOptions = {}) {
    const [ours, theirs] = socketPair();
    this.proc = Bun.spawn([...(options.prefix ?? []), HELPER, "3"], {
      stdio: ["ignore", "pipe", "pipe", theirs, ...(options.extraFds ?? [])],
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    closeFd(theirs);
    this.sock = ours;
  }

  send(bytes: Uint8Array): void {
    sendMsg(this.sock, bytes);
  }

  /** The next message, or null at EOF (every copy of the helper's end closed). */
  next(timeoutMs = 5000): HelperMessage | null {
    return this.nextWithFds(timeoutMs)?.msg ?? null;
  }

  nextWithFds(timeoutMs = 5000): { msg: HelperMessage; fds: number[] } | null {
    const m = recvMsg(this.sock, timeoutMs);
    return m === null ? null : { msg: decodeMessage(m.data), fds: m.fds };
  }

  /** Every message up to EOF. */
  drain(timeoutMs = 5000): HelperMessage[] {
    const out: HelperMessage[] = [];
    for (let m = this.next(timeoutMs); m !== null; m = this.next(timeoutMs)) out.push(m);
    return out;
  }

  closeSocket(): void {
    if (this.sock >= 0) closeFd(this.sock);
    this.sock = -1;
  }

  async finish(): Promise<Exit> {
    const [stdout, stderr] = await Promise.all([
      new Response(this.proc.stdout).text(),
      new Response(this.proc.stderr).text(),
      this.proc.exited,
    ]);
    this.closeSocket();
    return { code: this.proc.exitCode, signal: this.proc.signalCode, stdout, stderr };
  }

  [Symbol.dispose](): void {
    this.closeSocket();
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill("SIGKILL");
  }
}

/** Runs a plan that needs no answers: every message up to EOF, then the exit. */
export async function runPlan(ops: readonly Op[], options: RunOptions = {}) {
  using h = new HelperRun(options);
  h.send(planFrame(ops));
  const messages = h.drain();
  const exit = await h.finish();
  return { messages, exit };
}

/** The one ERROR among the messages (fails the test when there is none). */
export function errorOf(messages: readonly HelperMessage[]) {
  const e = messages.find((m) => m.type === "error");
  if (e === undefined || e.type !== "error") throw new Error(`no ERROR frame in ${JSON.stringify(messages)}`);
  return e;
}
