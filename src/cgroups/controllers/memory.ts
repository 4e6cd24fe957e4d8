// memory: limit, reservation, swap, swappiness, OOM killer, checkBeforeUpdate; usage and OOM kills.
//
// Swap differs: OCI's memory.swap is v1's memsw (memory + swap); v2's memory.swap.max is swap
// alone, so v2 writes swap - limit.
import { swapToV2, v2Limit } from "../convert.ts";
import { hasFile, readCg, readKeyValues, readNumber, unsupported, writeCg } from "../files.ts";
import type { MemoryResources } from "../resources.ts";
import { type MemoryEntry, type Stats, UNLIMITED } from "../stats.ts";

const F = "linux.resources.memory";

function checkUsage(limit: number | undefined, usage: number | undefined): void {
  if (limit === undefined || limit === -1 || usage === undefined) return;
  if (usage > limit) {
    throw unsupported(`${F}.limit ${limit} is below the current usage ${usage} and checkBeforeUpdate is set`);
  }
}

export function setMemoryV1(dir: string, m: MemoryResources): void {
  if (m.checkBeforeUpdate === true) checkUsage(m.limit, readNumber(dir, "memory.usage_in_bytes"));
  const limit = m.limit;
  const swap = m.swap;
  if (swap !== undefined && !hasFile(dir, "memory.memsw.limit_in_bytes")) {
    throw unsupported(
      `${F}.swap needs swap accounting, which this host's kernel does not have (swapaccount=1)`,
    );
  }
  if (limit !== undefined && swap !== undefined) {
    // memsw must stay >= memory: raise memsw first when growing, lower memory first when shrinking.
    const current = readNumber(dir, "memory.limit_in_bytes");
    const growing = limit === -1 || (current !== undefined && limit > current);
    if (growing) {
      writeCg(dir, "memory.memsw.limit_in_bytes", String(swap));
      writeCg(dir, "memory.limit_in_bytes", String(limit));
    } else {
      writeCg(dir, "memory.limit_in_bytes", String(limit));
      writeCg(dir, "memory.memsw.limit_in_bytes", String(swap));
    }
  } else if (limit !== undefined) {
    writeCg(dir, "memory.limit_in_bytes", String(limit));
  } else if (swap !== undefined) {
    writeCg(dir, "memory.memsw.limit_in_bytes", String(swap));
  }
  if (m.reservation !== undefined) writeCg(dir, "memory.soft_limit_in_bytes", String(m.reservation));
  // memory.kmem.limit_in_bytes is gone from current kernels and runc ignores it; kernelTCP is not.
  if (m.kernelTCP !== undefined) writeCg(dir, "memory.kmem.tcp.limit_in_bytes", String(m.kernelTCP));
  if (m.swappiness !== undefined) writeCg(dir, "memory.swappiness", String(m.swappiness));
  if (m.disableOOMKiller !== undefined) writeCg(dir, "memory.oom_control", m.disableOOMKiller ? "1" : "0");
  if (m.useHierarchy === true) writeCg(dir, "memory.use_hierarchy", "1");
}

export function setMemoryV2(dir: string, m: MemoryResources): void {
  if (m.swappiness !== undefined) throw unsupported(`${F}.swappiness is not supported on cgroup v2`);
  if (m.disableOOMKiller === true) throw unsupported(`${F}.disableOOMKiller is not supported on cgroup v2`);
  if (m.checkBeforeUpdate === true) checkUsage(m.limit, readNumber(dir, "memory.current"));
  const swap = swapToV2(m.swap, m.limit);
  if (swap !== undefined) {
    if (!hasFile(dir, "memory.swap.max")) {
      throw unsupported(`${F}.swap needs swap accounting, which this host's kernel does not have`);
    }
    writeCg(dir, "memory.swap.max", swap === "max" ? "max" : String(swap));
  }
  if (m.limit !== undefined) writeCg(dir, "memory.max", v2Limit(m.limit));
  if (m.reservation !== undefined) writeCg(dir, "memory.low", v2Limit(m.reservation));
}

/** A v1 *.limit_in_bytes "unlimited" (page-rounded MaxInt64) reads as UNLIMITED, as runc reports it. */
function v1Limit(n: number | undefined): number {
  if (n === undefined) return 0;
  return n >= 2 ** 62 ? UNLIMITED : n;
}

function v1Entry(dir: string, prefix: string): MemoryEntry {
  return {
    usage: readNumber(dir, `${prefix}.usage_in_bytes`) ?? 0,
    max: readNumber(dir, `${prefix}.max_usage_in_bytes`) ?? 0,
    failcnt: readNumber(dir, `${prefix}.failcnt`) ?? 0,
    limit: v1Limit(readNumber(dir, `${prefix}.limit_in_bytes`)),
  };
}

export function memoryStatsV1(dir: string, s: Stats): void {
  const raw = readKeyValues(dir, "memory.stat");
  s.memory.raw = raw;
  s.memory.cache = raw["total_cache"] ?? raw["cache"] ?? 0;
  s.memory.usage = v1Entry(dir, "memory");
  s.memory.swap = v1Entry(dir, "memory.memsw");
  s.memory.kernel = v1Entry(dir, "memory.kmem");
  s.memory.kernelTCP = v1Entry(dir, "memory.kmem.tcp");
}

const max = (dir: string, file: string): number => {
  const s = readCg(dir, file);
  return s === "max" ? UNLIMITED : Number(s);
};

export function memoryStatsV2(dir: string, s: Stats): void {
  const raw = readKeyValues(dir, "memory.stat");
  s.memory.raw = raw;
  s.memory.cache = raw["file"] ?? 0;
  const usage = readNumber(dir, "memory.current") ?? 0;
  const limit = hasFile(dir, "memory.max") ? max(dir, "memory.max") : 0;
  const events = readKeyValues(dir, "memory.events");
  s.memory.usage = { usage, limit, max: readNumber(dir, "memory.peak") ?? 0, failcnt: events["max"] ?? 0 };
  if (hasFile(dir, "memory.swap.current")) {
    // runc reports v2 swap as memory + swap, like v1's memsw.
    const swap = readNumber(dir, "memory.swap.current") ?? 0;
    const swapMax = max(dir, "memory.swap.max");
    s.memory.swap = {
      usage: usage + swap,
      limit: swapMax === UNLIMITED || limit === UNLIMITED ? UNLIMITED : swapMax + limit,
      max: 0,
      failcnt: 0,
    };
  }
}

/** How many processes the OOM killer has killed in the cgroup (it only grows). */
export function oomKillsV1(dir: string): number {
  return readKeyValues(dir, "memory.oom_control")["oom_kill"] ?? 0;
}

export function oomKillsV2(dir: string): number {
  const e = readKeyValues(dir, "memory.events");
  return e["oom_kill"] ?? e["oom"] ?? 0;
}
