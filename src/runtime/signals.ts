// Signal names and numbers as runc accepts them: "KILL", "SIGKILL", "9".
import { constants } from "node:os";
import { LeopardError } from "../util/errors.ts";

export function parseSignal(s: string): number {
  const up = s.toUpperCase();
  if (/^\d+$/.test(up)) {
    const n = Number(up);
    if (n >= 1 && n <= 64) return n;
  } else {
    const name = (up.startsWith("SIG") ? up : `SIG${up}`) as keyof typeof constants.signals;
    const n = constants.signals[name];
    if (n !== undefined) return n;
    const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(up.startsWith("SIG") ? up : `SIG${up}`);
    if (rt) return 34 + Number(rt[1] ?? 0);
  }
  throw new LeopardError("invalid-argument", `invalid signal "${s}"`);
}
