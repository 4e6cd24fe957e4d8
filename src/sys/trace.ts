// LEOPARD_TRACE=1: print how long each phase of a command took, to find where start-up goes.
// Read at each mark, not once: a served worker takes the caller's environment per call, and
// `traceFrom` (called when it becomes the caller) makes its marks count from the call, not from
// the worker's start. A direct command counts from its own start.
// LEOPARD_TEST_KILL_AT=<phase>, for tests only: the process SIGKILLs itself at the mark of that
// name, as a `kill -9` landing between two phases would (test/integration/create-killed.test.ts).
import { writeAll } from "./io.ts";

const killAt = process.env["LEOPARD_TEST_KILL_AT"];
let origin = 0;
let last = 0;

/** Marks from now on count from now (a served call's start). */
export function traceFrom(): void {
  origin = performance.now();
  last = origin;
}

export function mark(what: string): void {
  if (what === killAt) process.kill(process.pid, "SIGKILL");
  if (process.env["LEOPARD_TRACE"] !== "1") return;
  const now = performance.now();
  writeAll(
    2,
    `leopard-trace: ${(now - origin).toFixed(1).padStart(7)} ms (+${(now - last).toFixed(1)}) ${what}\n`,
  );
  last = now;
}
