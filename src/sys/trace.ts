// LEOPARD_TRACE=1: print how long each phase of a command took, to find where start-up goes.
// LEOPARD_TEST_KILL_AT=<phase>, for tests only: the process SIGKILLs itself at the mark of that
// name, as a `kill -9` landing between two phases would (test/integration/create-killed.test.ts).
import { writeAll } from "./io.ts";

const on = process.env["LEOPARD_TRACE"] === "1";
const killAt = process.env["LEOPARD_TEST_KILL_AT"];
let last = 0;

export function mark(what: string): void {
  if (what === killAt) process.kill(process.pid, "SIGKILL");
  if (!on) return;
  const now = performance.now();
  writeAll(2, `leopard-trace: ${now.toFixed(1).padStart(7)} ms (+${(now - last).toFixed(1)}) ${what}\n`);
  last = now;
}
