// LEOPARD_TRACE=1: print how long each phase of a command took, to find where start-up goes.
import { writeAll } from "./io.ts";

const on = process.env["LEOPARD_TRACE"] === "1";
let last = 0;

export function mark(what: string): void {
  if (!on) return;
  const now = performance.now();
  writeAll(2, `leopard-trace: ${now.toFixed(1).padStart(7)} ms (+${(now - last).toFixed(1)}) ${what}\n`);
  last = now;
}
