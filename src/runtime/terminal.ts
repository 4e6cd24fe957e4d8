// The foreground side of run and exec: the caller's terminal relayed through the container's pty
// master, and the caller's signals forwarded to the container's process until it exits.
import { taint } from "../sys/caller.ts";
import { closeSync, writeSync } from "../sys/fs-sync.ts";
import { writeAll } from "../sys/io.ts";
import { libc } from "../sys/libc.ts";
import type { HelperProcess } from "./spawn.ts";

/** The signals a foreground run or exec passes on to the container's process. */
export const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as const;
const TIOCGWINSZ = 0x5413;
const TIOCSWINSZ = 0x5414;
/** How long the relay may still drain the pty after the process exited. */
const DRAIN_MS = 500;

/** The caller's window size (stdout's terminal, else stdin's) onto the pty; nothing when neither is one. */
export function copyWindowSize(master: number): void {
  taint();
  const ws = new Uint16Array(4);
  for (const fd of [1, 0]) {
    if (libc().ioctl(fd, TIOCGWINSZ, ws) === 0 && ws[0]! > 0 && ws[1]! > 0) {
      libc().ioctl(master, TIOCSWINSZ, ws);
      return;
    }
  }
}

/** How a foreground terminal is relayed: the engine's `-t` without `-i`, and its log. */
export interface RelayOptions {
  /** Our stdin's keystrokes go to the pty (runc, `-it`); without (`-t` alone) it reads nothing. */
  stdin: boolean;
  /** Each chunk of the container's output, also given here (the engine's log of a `-t` run). */
  log?: ((chunk: Uint8Array) => void) | undefined;
}

/** Copies stdin → pty (when opts.stdin) and pty → stdout until the container side closes. */
export function relayTerminal(
  master: number,
  handlers: Map<string, () => void>,
  opts: RelayOptions = { stdin: true },
): Promise<void> {
  taint();
  const stdin = process.stdin;
  const resize = () => copyWindowSize(master);
  handlers.set("SIGWINCH", resize);
  process.on("SIGWINCH", resize);
  if (opts.stdin && stdin.isTTY) stdin.setRawMode(true);
  const onData = (d: Buffer) => {
    try {
      writeSync(master, d);
    } catch {
      // The container closed its side (EIO): the output stream's end finishes the relay.
    }
  };
  if (opts.stdin) stdin.on("data", onData);
  return new Promise((resolveDone) => {
    // node:fs only here, with a terminal: it costs ~10 ms to load (see src/sys/fs-sync.ts).
    const { createReadStream } = require("node:fs") as typeof import("node:fs");
    const out = createReadStream("", { fd: master, autoClose: false });
    const finish = () => {
      if (opts.stdin) {
        stdin.off("data", onData);
        stdin.pause();
      }
      try {
        closeSync(master);
      } catch {
        // Already closed by a second end/error event: nothing left to release.
      }
      resolveDone();
    };
    out.on("data", (chunk: Buffer) => {
      try {
        writeAll(1, chunk);
      } catch {
        // Our stdout is gone (the caller closed it): the container's output has nowhere to go.
      }
      opts.log?.(chunk);
    });
    out.on("error", finish); // EIO once every slave fd is closed
    out.on("end", finish);
  });
}

/**
 * Stays in the foreground until the helper (which mirrors the process's status) exits: forwards
 * the caller's signals to pid and relays the terminal when there is a pty. Returns the exit status.
 */
export async function waitForeground(
  pid: number,
  helper: HelperProcess,
  pty: number | undefined,
  relay: RelayOptions = { stdin: true },
): Promise<number> {
  const handlers = new Map<string, () => void>();
  for (const sig of FORWARDED) {
    const h = () => {
      try {
        process.kill(pid, sig);
      } catch {
        // The process is already gone: helper.exited reports how it ended.
      }
    };
    handlers.set(sig, h);
    process.on(sig, h);
  }
  try {
    const relaying = pty === undefined ? undefined : relayTerminal(pty, handlers, relay);
    const code = await helper.exited;
    if (relaying) await Promise.race([relaying, Bun.sleep(DRAIN_MS)]);
    return code;
  } finally {
    for (const [sig, h] of handlers) process.off(sig, h);
    if (pty !== undefined && relay.stdin && process.stdin.isTTY) process.stdin.setRawMode(false);
  }
}
