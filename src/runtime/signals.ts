// Signal names and numbers as runc accepts them: "KILL", "SIGKILL", "9".
import { LeopardError } from "../util/errors.ts";

// Linux's numbers (os.constants.signals, written out: node:os costs ~3 ms to load on every kill).
const SIGNALS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGIOT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPOLL: 29,
  SIGPWR: 30,
  SIGSYS: 31,
};

export function parseSignal(s: string): number {
  const up = s.toUpperCase();
  if (/^\d+$/.test(up)) {
    const n = Number(up);
    if (n >= 1 && n <= 64) return n;
  } else {
    const name = up.startsWith("SIG") ? up : `SIG${up}`;
    const n = Object.hasOwn(SIGNALS, name) ? SIGNALS[name] : undefined;
    if (n !== undefined) return n;
    const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(up.startsWith("SIG") ? up : `SIG${up}`);
    if (rt) return 34 + Number(rt[1] ?? 0);
  }
  throw new LeopardError("invalid-argument", `invalid signal "${s}"`);
}
