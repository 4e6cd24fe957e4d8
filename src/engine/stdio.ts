// A foreground container's stdio, as docker's: without -i it reads nothing (/dev/null, so a
// `while read` loop calling `leopard run` keeps its input), and its output is logged as well as
// shown (stdout and stderr through pipes, copied to ours and to the k8s-file log `leopard logs`
// reads). The helper is given these fds in place of the "inherit"ed 0-2 by wrapping the runtime's
// spawner for the call, which works alike when a `leopard serve` worker hands the spawn to its
// launcher (the fds travel with the request) and when Bun spawns it here. Our own fds stay as
// they are.
import { appendFileSync, closeSync, createReadStream, openSync } from "node:fs";
import { currentSpawner, setSpawner } from "../runtime/spawn.ts";
import { writeAll } from "../sys/io.ts";
import { check, libc } from "../sys/libc.ts";
import { logRecords, logTime } from "./logs.ts";

const O_CLOEXEC = 0o2000000;

export interface ForegroundStdio {
  /** Give the container our stdin (-i); else /dev/null. */
  stdin: boolean;
  /** Log the output here too (k8s-file records); undefined: not logged. */
  logPath?: string | undefined;
  /** The output goes here instead of to our stdout/stderr and the log (a build's RUN). */
  sink?: ((fd: 1 | 2, chunk: Uint8Array) => void) | undefined;
}

/** A `-t` container's output appended to its log as docker logs a tty: one stream, stdout. */
export function ttyLog(logPath: string): (chunk: Uint8Array) => void {
  return (c) => {
    try {
      appendFileSync(logPath, logRecords("stdout", Buffer.from(c).toString("utf8"), logTime()));
    } catch {
      // The log is a copy for `leopard logs`: a failed append must not stop the relay.
    }
  };
}

/** Reads a pipe until EOF, passing each chunk on; the stream closes the fd at its end. */
async function pump(fd: number, each: (chunk: Uint8Array) => void): Promise<void> {
  for await (const chunk of createReadStream("", { fd })) each(chunk as Buffer);
}

/**
 * Runs fn (which starts the container's helper once) with the helper's fds 0-2 as `io` says;
 * returns once fn is done and the output is drained.
 */
export async function withForegroundStdio<T>(io: ForegroundStdio, fn: () => Promise<T>): Promise<T> {
  const give: (number | undefined)[] = [undefined, undefined, undefined];
  const ours: number[] = [];
  const pumps: Promise<void>[] = [];
  if (!io.stdin) {
    const nul = openSync("/dev/null", "r");
    ours.push(nul);
    give[0] = nul;
  }
  const logPath = io.logPath;
  const sink = io.sink;
  if (logPath !== undefined || sink !== undefined) {
    const fds = new Int32Array(4);
    check(libc().pipe2(fds, O_CLOEXEC), "pipe2");
    check(libc().pipe2(fds.subarray(2), O_CLOEXEC), "pipe2");
    const [outR = -1, outW = -1, errR = -1, errW = -1] = fds;
    give[1] = outW;
    give[2] = errW;
    ours.push(outW, errW);
    const copy = (fd: 1 | 2, stream: "stdout" | "stderr") => (c: Uint8Array) => {
      if (sink !== undefined) return sink(fd, c);
      if (logPath === undefined) return;
      try {
        writeAll(fd, c);
      } catch {
        // Our stdout or stderr is closed (the caller went away): the log below still gets the output.
      }
      try {
        appendFileSync(logPath, logRecords(stream, Buffer.from(c).toString("utf8"), logTime()));
      } catch {
        // The log cannot be written (disk full, bundle removed): the output still went to the terminal, and the container must not stall on it.
      }
    };
    pumps.push(pump(outR, copy(1, "stdout")), pump(errR, copy(2, "stderr")));
  }
  const closeOurs = () => {
    for (const fd of ours.splice(0)) closeSync(fd);
  };
  const prev = currentSpawner();
  setSpawner((argv, stdio, own) => {
    try {
      return prev(
        argv,
        stdio.map((s, i) => (s === "inherit" && give[i] !== undefined ? (give[i] as number) : s)),
        own,
      );
    } finally {
      // The helper has its copies now: with ours closed, the pipes end when the container does.
      closeOurs();
    }
  });
  try {
    return await fn();
  } finally {
    setSpawner(prev);
    closeOurs();
    await Promise.all(pumps).catch(() => undefined);
  }
}
