// Usage statistics in the JSON shape of runc's `events --stats` (runc's types/events.go): the
// `data` of an event `{"type":"stats","id":…,"data":…}`. Fields runc tags omitempty are left
// out when zero by `statsJson`.

export interface CpuUsage {
  total: number;
  percpu: number[];
  percpu_kernel: number[];
  percpu_user: number[];
  kernel: number;
  user: number;
}

export interface Throttling {
  periods: number;
  throttled_periods: number;
  throttled_time: number;
}

export interface MemoryEntry {
  limit: number;
  usage: number;
  max: number;
  failcnt: number;
}

export interface MemoryStats {
  cache: number;
  usage: MemoryEntry;
  swap: MemoryEntry;
  kernel: MemoryEntry;
  kernelTCP: MemoryEntry;
  raw: Record<string, number>;
}

export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

export interface BlkioStats {
  ioServiceBytesRecursive: BlkioEntry[];
  ioServicedRecursive: BlkioEntry[];
  ioQueueRecursive: BlkioEntry[];
  ioServiceTimeRecursive: BlkioEntry[];
  ioWaitTimeRecursive: BlkioEntry[];
  ioMergedRecursive: BlkioEntry[];
  ioTimeRecursive: BlkioEntry[];
  sectorsRecursive: BlkioEntry[];
}

export interface HugetlbStats {
  usage: number;
  max: number;
  failcnt: number;
}

export interface Stats {
  cpu: { usage: CpuUsage; throttling: Throttling };
  memory: MemoryStats;
  pids: { current: number; limit: number };
  blkio: BlkioStats;
  hugetlb: Record<string, HugetlbStats>;
}

/** The largest value a cgroup reports for "no limit" (v1 page-rounded MaxInt64; v2 "max"). */
export const UNLIMITED = 2 ** 64 - 1;

export function emptyEntry(): MemoryEntry {
  return { limit: 0, usage: 0, max: 0, failcnt: 0 };
}

export function emptyStats(): Stats {
  return {
    cpu: {
      usage: { total: 0, percpu: [], percpu_kernel: [], percpu_user: [], kernel: 0, user: 0 },
      throttling: { periods: 0, throttled_periods: 0, throttled_time: 0 },
    },
    memory: {
      cache: 0,
      usage: emptyEntry(),
      swap: emptyEntry(),
      kernel: emptyEntry(),
      kernelTCP: emptyEntry(),
      raw: {},
    },
    pids: { current: 0, limit: 0 },
    blkio: {
      ioServiceBytesRecursive: [],
      ioServicedRecursive: [],
      ioQueueRecursive: [],
      ioServiceTimeRecursive: [],
      ioWaitTimeRecursive: [],
      ioMergedRecursive: [],
      ioTimeRecursive: [],
      sectorsRecursive: [],
    },
    hugetlb: {},
  };
}

// Numbers runc prints even when zero (no omitempty tag; pids.limit has one); every other zero
// number is left out.
const KEEP_ZERO = new Set(["kernel", "user", "limit", "failcnt"]);

/**
 * Drop what Go's omitempty drops: zero numbers (except KEEP_ZERO), empty strings, empty lists
 * and the empty `raw` map. Structs are never empty to Go, so nested objects stay.
 */
function prune(v: unknown, key: string, parent = ""): unknown {
  if (Array.isArray(v)) return v.length === 0 ? undefined : v.map((e) => prune(e, "", key));
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, e] of Object.entries(v)) {
      const p = prune(e, k, key);
      if (p !== undefined) out[k] = p;
    }
    return key === "raw" && Object.keys(out).length === 0 ? undefined : out;
  }
  if (v === 0 || v === "") return KEEP_ZERO.has(key) && parent !== "pids" ? v : undefined;
  return v;
}

/** Stats as runc prints them inside a stats event. */
export function statsJson(s: Stats): Record<string, unknown> {
  const p = prune(s, "") as Record<string, unknown>;
  return {
    cpu: p["cpu"] ?? {},
    memory: p["memory"] ?? {},
    pids: p["pids"] ?? {},
    blkio: p["blkio"] ?? {},
    hugetlb: p["hugetlb"] ?? {},
    intel_rdt: {},
    network_interfaces: null,
  };
}

/** One `events` line: `{"type":"stats","id":"c1","data":{…}}` or `{"type":"oom","id":"c1"}`. */
export function eventLine(type: "stats" | "oom", id: string, stats?: Stats): string {
  return JSON.stringify(stats === undefined ? { type, id } : { type, id, data: statsJson(stats) });
}
