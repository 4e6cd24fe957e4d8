// A runtime that logs each call and runs the real one as its child (not exec: the end time is
// needed), for the benches that count what an engine asks of its OCI runtime (bench/podman.ts,
// bench/cri.ts). Each line of the log: "<command> <microseconds> <exit status>"; bash's
// $EPOCHREALTIME costs no fork.
import { chmodSync, readFileSync, writeFileSync } from "node:fs";

/** Writes the wrapper at `path` (executable) for the runtime `real`; its calls go to `log`. */
export function traceWrapper(path: string, real: string, log: string): string {
  writeFileSync(
    path,
    [
      "#!/bin/bash",
      "t0=$EPOCHREALTIME",
      `${JSON.stringify(real)} "$@"`,
      "rc=$?",
      "t1=$EPOCHREALTIME",
      // The command is the first argument that is neither a global flag nor a flag's value.
      'cmd=""; skip=0',
      'for a in "$@"; do',
      "  if [ $skip = 1 ]; then skip=0; continue; fi",
      '  case "$a" in --root|--log|--log-format|--criu) skip=1 ;; -*) ;; *) cmd=$a; break ;; esac',
      "done",
      `echo "$cmd $(( (\${t1/./} - \${t0/./}) )) $rc" >> ${JSON.stringify(log)}`,
      "exit $rc",
      "",
    ].join("\n"),
  );
  chmodSync(path, 0o755);
  return path;
}

export interface TraceSummary {
  /** Calls per unit of work (a container, a pod). */
  perUnit: number;
  /** Milliseconds in the runtime per unit. */
  msPerUnit: number;
  failed: number;
  /** Each command: calls per unit and the median of its calls in ms. */
  byCmd: { cmd: string; perUnit: number; medianMs: number }[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

/** The log of `units` units of work, summed up. */
export function traceSummary(log: string, units: number): TraceSummary {
  const calls = readFileSync(log, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split(" "))
    .map(([cmd, us, rc]) => ({ cmd: cmd || "(none)", ms: Number(us) / 1000, rc: Number(rc) }));
  const byCmd = new Map<string, number[]>();
  for (const c of calls) byCmd.set(c.cmd, [...(byCmd.get(c.cmd) ?? []), c.ms]);
  return {
    perUnit: calls.length / units,
    msPerUnit: calls.reduce((a, c) => a + c.ms, 0) / units,
    failed: calls.filter((c) => c.rc !== 0).length,
    byCmd: [...byCmd].map(([cmd, xs]) => ({ cmd, perUnit: xs.length / units, medianMs: median(xs) })),
  };
}
