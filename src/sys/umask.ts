// The process's umask, read without changing it. process.umask() with no argument writes it twice
// (umask(0), then back: strace shows both), and the umask is the whole process's: two threads doing
// that at once (the layer unpack threads each read it) can leave it 0, after which every file
// the process makes is world-writable. Linux has said it in /proc/self/status since 4.7.
import { LeopardError } from "../util/errors.ts";
import { readText } from "./io.ts";

/** This process's umask, from /proc/self/status. */
export function currentUmask(): number {
  const m = /^Umask:\s+([0-7]+)$/m.exec(readText("/proc/self/status"));
  if (m === null) throw new LeopardError("system", "/proc/self/status has no Umask line (Linux before 4.7?)");
  return Number.parseInt(m[1]!, 8);
}
