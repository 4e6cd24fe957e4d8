// Test support: probe single syscalls from a shell with perl's syscall(), which reports the raw
// errno. Syscall numbers come from libseccomp, so the probes follow the host's architecture.
// (Running a script under a filter needs the helper: see seccomp.test.ts.)
import type { SpecSeccomp } from "../config/types.ts";
import { syscallNumber } from "./libseccomp.ts";

/** One syscall argument for a probe: a number, or a string passed as a C string pointer. */
export type ProbeArg = bigint | number | string;

/**
 * A shell line printing `label=ok` when the syscall succeeded, `label=errno N` when it failed,
 * or `label=signal N` when the probe was killed (SIGSYS is 31).
 */
export function probe(label: string, name: string, ...args: ProbeArg[]): string {
  const nr = syscallNumber(name);
  if (nr < 0) throw new Error(`syscall "${name}" has no number on this architecture`);
  return probeNr(label, nr, ...args);
}

/** The same by number, for syscalls no name covers (numbers past the profile's last). */
export function probeNr(label: string, nr: number, ...args: ProbeArg[]): string {
  // perl passes a string argument as a pointer, but refuses a literal (read-only) one.
  const vars = args.map(
    (a, i) => `my $a${i} = ${typeof a === "string" ? JSON.stringify(a) : `${BigInt(a)}`};`,
  );
  const call = `${vars.join(" ")} my $r = syscall(${[nr, ...args.map((_, i) => `$a${i}`)].join(", ")}); print $r == -1 ? "errno " . ($!+0) : "ok"`;
  return `out=$(perl -e '${call}' 2>/dev/null); st=$?; if [ $st -gt 128 ]; then echo "${label}=signal $((st-128))"; else echo "${label}=$out"; fi`;
}

/** Parses probe lines into {label: result}. */
export function results(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** A profile allowing everything but the given rules. */
export function allowAllBut(
  syscalls: SpecSeccomp["syscalls"],
  extra: Partial<SpecSeccomp> = {},
): SpecSeccomp {
  return {
    defaultAction: "SCMP_ACT_ALLOW",
    defaultErrnoRet: undefined,
    architectures: [],
    flags: [],
    listenerPath: undefined,
    listenerMetadata: undefined,
    syscalls,
    ...extra,
  };
}
