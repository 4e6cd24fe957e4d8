// The caller's stdio around a foreground container, as docker's: without -i the container reads
// nothing (/dev/null on fd 0, so a `while read` loop calling `leopard run` keeps its input), and
// its output is logged as well as shown (stdout and stderr through pipes, copied to the caller's
// fds and to the k8s-file log that `leopard logs` reads). The caller's fds are put back after.

import { ptr } from "bun:ffi";
import { appendFileSync, closeSync, createReadStream, openSync } from "node:fs";
import { writeAll } from "../sys/io.ts";
import { check, libc } from "../sys/libc.ts";
import { logRecords, logTime } from "./logs.ts";

const O_CLOEXEC = 0o2000000;
const F_DUPFD_CLOEXEC = 1030;

/** dup(fd) with close-on-exec, so the helper never inherits the saved copy. */
function saveFd(fd: number): number {
  return check(libc().fcntl(fd, F_DUPFD_CLOEXEC, 10), "fcntl", `fd ${fd}`);
}

function restore(saved: number, fd: number): void {
  libc().dup2(saved, fd);
  libc().close(saved);
}

/** Runs fn with /dev/null on fd 0; the caller's stdin is back on fd 0 afterwards. */
export async function withoutStdin<T>(fn: () => Promise<T>): Promise<T> {
  let saved = -1;
  try {
    saved = saveFd(0);
  } catch {
    // fd 0 is closed: /dev/null takes it and stays.
  }
  const nul = openSync("/dev/null", "r");
  if (nul !== 0) {
    libc().dup2(nul, 0);
    closeSync(nul);
  }
  try {
    return await fn();
  } finally {
    if (saved >= 0) restore(saved, 0);
  }
}

/** Reads a pipe until EOF, passing each chunk on. */
async function pump(fd: number, each: (chunk: Uint8Array) => void): Promise<void> {
  // The stream closes fd at its end (no later read can meet a reused fd number).
  for await (const chunk of createReadStream("", { fd })) each(chunk as Buffer);
}

/**
 * Runs fn with fds 1 and 2 on pipes whose output goes to the caller's fds and to `logPath` as
 * k8s-file records; returns once fn is done and both pipes are drained.
 */
export async function withLoggedOutput<T>(logPath: string, fn: () => Promise<T>): Promise<T> {
  const fds = new Int32Array(4);
  check(libc().pipe2(ptr(fds), O_CLOEXEC), "pipe2");
  check(libc().pipe2(ptr(fds, 8), O_CLOEXEC), "pipe2");
  const [outR = -1, outW = -1, errR = -1, errW = -1] = fds;
  const saved = [saveFd(1), saveFd(2)] as const;
  const log = (stream: "stdout" | "stderr", chunk: Uint8Array) => {
    try {
      appendFileSync(logPath, logRecords(stream, Buffer.from(chunk).toString("utf8"), logTime()));
    } catch {}
  };
  libc().dup2(outW, 1);
  libc().dup2(errW, 2);
  libc().close(outW);
  libc().close(errW);
  const pumps = [
    pump(outR, (c) => {
      writeAll(saved[0], c);
      log("stdout", c);
    }),
    pump(errR, (c) => {
      writeAll(saved[1], c);
      log("stderr", c);
    }),
  ];
  try {
    return await fn();
  } finally {
    // Our ends of the pipes close with the caller's fds back in place; the container's are
    // closed by its exit, so the pumps see EOF once everything written is read.
    libc().dup2(saved[0], 1);
    libc().dup2(saved[1], 2);
    await Promise.all(pumps).catch(() => undefined);
    for (const fd of saved) libc().close(fd);
  }
}
