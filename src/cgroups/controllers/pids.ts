// pids: the process-count limit (the same file on v1 and v2).
import { readCgOpt, readNumber, writeCg } from "../files.ts";
import type { PidsResources } from "../resources.ts";
import type { Stats } from "../stats.ts";

/** A positive limit is written as is, -1 as "max"; 0 leaves pids.max alone (runc reads 0 as unset). */
export function setPids(dir: string, p: PidsResources): void {
  if (p.limit === 0) return;
  writeCg(dir, "pids.max", p.limit > 0 ? String(p.limit) : "max");
}

export function pidsStats(dir: string, s: Stats): void {
  s.pids.current = readNumber(dir, "pids.current") ?? 0;
  // runc reports "max" as 0.
  const max = readCgOpt(dir, "pids.max");
  s.pids.limit = max === undefined || max === "max" ? 0 : Number(max);
}
