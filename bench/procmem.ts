// Resident memory of an engine's processes, found by a marker in their environment (every process
// an engine starts inherits it, or their command line names the engine's directory; a container's processes get the environment of their config
// instead, so they are found as conmon's descendants). Used by bench/engine.ts.
import { readdirSync, readFileSync } from "node:fs";

export interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  /** kB, from /proc/PID/status VmRSS. */
  rss: number;
  /** kB, from /proc/PID/smaps_rollup Pss: shared pages split between the processes mapping them. */
  pss: number;
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined; // gone meanwhile, or a kernel thread
  }
};

const field = (text: string, name: string): number => {
  const m = text.match(new RegExp(`^${name}:\\s+(\\d+)`, "m"));
  return m ? Number(m[1]) : 0;
};

function proc(pid: number): Proc | undefined {
  const status = read(`/proc/${pid}/status`);
  if (status === undefined) return undefined;
  return {
    pid,
    ppid: field(status, "PPid"),
    comm: status.match(/^Name:\s+(.*)$/m)?.[1] ?? "?",
    rss: field(status, "VmRSS"),
    pss: field(read(`/proc/${pid}/smaps_rollup`) ?? "", "Pss"),
  };
}

export function allPids(): number[] {
  return readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}

/**
 * The engine's own processes (environment holds `marker`, e.g. "BENCH_MARK=123", or the command
 * line mentions `path`: podman starts conmon with an environment of its own) and the containers'.
 */
export function engineProcesses(marker: string, path: string): { engine: Proc[]; containers: Proc[] } {
  const all = allPids()
    .map(proc)
    .filter((p): p is Proc => p !== undefined);
  const marked = new Set(
    all
      .filter((p) => p.pid !== process.pid)
      .filter(
        (p) =>
          (read(`/proc/${p.pid}/environ`) ?? "").split("\0").includes(marker) ||
          (read(`/proc/${p.pid}/cmdline`) ?? "").includes(path),
      )
      .map((p) => p.pid),
  );
  const engine = all.filter((p) => marked.has(p.pid));
  // Containers: descendants of the marked processes that do not carry the marker.
  const inside = new Set<number>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all) {
      if (marked.has(p.pid) || inside.has(p.pid)) continue;
      if (marked.has(p.ppid) || inside.has(p.ppid)) {
        inside.add(p.pid);
        grew = true;
      }
    }
  }
  return { engine, containers: all.filter((p) => inside.has(p.pid)) };
}

export interface MemSummary {
  /** Engine processes by name: how many and their summed RSS/PSS in kB. */
  byName: Map<string, { count: number; rss: number; pss: number }>;
  containerRss: number;
  containerPss: number;
  containerCount: number;
}

export function summarize(ps: { engine: Proc[]; containers: Proc[] }): MemSummary {
  const byName = new Map<string, { count: number; rss: number; pss: number }>();
  for (const p of ps.engine) {
    const e = byName.get(p.comm) ?? { count: 0, rss: 0, pss: 0 };
    byName.set(p.comm, { count: e.count + 1, rss: e.rss + p.rss, pss: e.pss + p.pss });
  }
  const sum = (k: "rss" | "pss") => ps.containers.reduce((a, p) => a + p[k], 0);
  return { byName, containerRss: sum("rss"), containerPss: sum("pss"), containerCount: ps.containers.length };
}
