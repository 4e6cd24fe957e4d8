// /proc/<pid>/stat, read without node:fs (src/sys/io.ts): the start time and state that tell
// whether a container's init still runs. Every state/start/kill/delete reads it.
import { readText } from "./io.ts";

export interface ProcStat {
  /** The one-letter state (R, S, D, Z, T, …). */
  state: string;
  /** Clock ticks since boot when the process started (field 22). */
  startTime: string;
}

/** state and start time of pid; undefined if it is gone. */
export function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readText(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  // comm (field 2) may contain spaces and parentheses: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); field 22 is rest[19].
  const startTime = rest[19];
  if (startTime === undefined) return undefined;
  return { state: rest[0] ?? "", startTime };
}

/** The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat); undefined if gone. */
export function processStartTime(pid: number): string | undefined {
  return procStat(pid)?.startTime;
}

let own: string | undefined;

/**
 * This process's start time, read once: it never changes, and a warm worker of `serve` would
 * otherwise read its own /proc/<pid>/stat for every create (a multi-threaded Bun's, which waits
 * on the threads' memory map lock).
 */
export function ownStartTime(): string {
  own ??= processStartTime(process.pid) ?? "";
  return own;
}

/** The one-letter state of a process (R, S, D, Z, T, …); undefined if gone. */
export function processState(pid: number): string | undefined {
  return procStat(pid)?.state;
}
