// run: create + start, then stay in the foreground until the container exits and return its
// status. Signals are forwarded to init; a terminal is relayed through a pty.

import { ptr } from "bun:ffi";
import { closeSync, createReadStream, writeSync } from "node:fs";
import { decodeMessage } from "../protocol/decode.ts";
import { taint } from "../sys/caller.ts";
import { writeAll } from "../sys/io.ts";
import { libc } from "../sys/libc.ts";
import { closeFd, recvMsg } from "../sys/seqpacket.ts";
import { mark } from "../sys/trace.ts";
import { type CreateOptions, create } from "./create.ts";
import { describeFailure } from "./describe.ts";
import { remove, start } from "./lifecycle.ts";

const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as const;
const TIOCGWINSZ = 0x5413;
const TIOCSWINSZ = 0x5414;

export interface RunOptions extends Omit<CreateOptions, "mode"> {
  detach?: boolean | undefined;
  keep?: boolean | undefined;
}

/** Returns the exit status `leopard-oci run` should exit with. */
export async function run(opts: RunOptions): Promise<number> {
  if (opts.detach) {
    await create({ ...opts, mode: "detached" });
    try {
      start(opts.state, opts.id);
    } catch (e) {
      await remove(opts.state, opts.id, true);
      throw e;
    }
    return 0;
  }
  const launched = await create({ ...opts, mode: "foreground" });
  const { pid, helper, sync, pty } = launched;
  const handlers = new Map<string, () => void>();
  let relay: Promise<void> | undefined;
  try {
    // The window size is set before the process runs, so its first look at the terminal is right.
    if (pty !== undefined) copyWindowSize(pty);
    start(opts.state, opts.id);
    mark("run: started");
    // Until exec, the helper holds its end of the sync socket; EOF means execve succeeded.
    const m = recvMsg(sync, -1);
    closeFd(sync);
    if (m !== null) {
      const msg = decodeMessage(m.data);
      if (msg.type === "error") {
        writeAll(
          2,
          `leopard-oci: run ${opts.id}: ${describeFailure(msg, launched.plan.steps[msg.index]?.op)}\n`,
        );
      }
    }
    for (const sig of FORWARDED) {
      const h = () => {
        try {
          process.kill(pid, sig);
        } catch {}
      };
      handlers.set(sig, h);
      process.on(sig, h);
    }
    if (pty !== undefined) relay = relayTerminal(pty, handlers);
    const code = await helper.exited;
    mark("run: container exited");
    if (relay) await Promise.race([relay, Bun.sleep(500)]);
    return code;
  } finally {
    for (const [sig, h] of handlers) process.off(sig, h);
    if (pty !== undefined && process.stdin.isTTY) process.stdin.setRawMode(false);
    if (!opts.keep) await remove(opts.state, opts.id, true).catch(() => undefined);
    mark("run: removed");
  }
}

/** Copies stdin → pty and pty → stdout until the container side closes. */
/** The caller's window size (stdout's terminal, else stdin's) onto the pty; nothing when neither is one. */
export function copyWindowSize(master: number): void {
  taint();
  const ws = new Uint16Array(4);
  for (const fd of [1, 0]) {
    if (libc().ioctl(fd, TIOCGWINSZ, ptr(ws)) === 0 && ws[0]! > 0 && ws[1]! > 0) {
      libc().ioctl(master, TIOCSWINSZ, ptr(ws));
      return;
    }
  }
}

export function relayTerminal(master: number, handlers: Map<string, () => void>): Promise<void> {
  taint();
  const stdin = process.stdin;
  const resize = () => copyWindowSize(master);
  handlers.set("SIGWINCH", resize);
  process.on("SIGWINCH", resize);
  if (stdin.isTTY) stdin.setRawMode(true);
  const onData = (d: Buffer) => {
    try {
      writeSync(master, d);
    } catch {}
  };
  stdin.on("data", onData);
  return new Promise((resolveDone) => {
    const out = createReadStream("", { fd: master, autoClose: false });
    const finish = () => {
      stdin.off("data", onData);
      stdin.pause();
      try {
        closeSync(master);
      } catch {}
      resolveDone();
    };
    out.on("data", (chunk: Buffer) => {
      try {
        writeAll(1, chunk);
      } catch {}
    });
    out.on("error", finish); // EIO once every slave fd is closed
    out.on("end", finish);
  });
}
