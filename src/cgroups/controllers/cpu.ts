// cpu: shares/weight, quota and period, burst, realtime, idle; cpuacct usage and throttling.
import { cpuMax, sharesToWeight } from "../convert.ts";
import { readCg, readCgOpt, readKeyValues, readNumber, unsupported, writeCg } from "../files.ts";
import type { CpuResources } from "../resources.ts";
import type { Stats } from "../stats.ts";

const F = "linux.resources.cpu";

export function setCpuV1(dir: string, c: CpuResources): void {
  if (c.shares !== undefined && c.shares !== 0) {
    writeCg(dir, "cpu.shares", String(c.shares));
    // The kernel clamps to [2, 262144]; say so instead of silently running with another value.
    const got = readNumber(dir, "cpu.shares");
    if (got !== undefined && got !== c.shares) {
      throw unsupported(`${F}.shares ${c.shares} is out of the kernel's range (it kept ${got})`);
    }
  }
  // The period first: a quota is checked against it.
  if (c.period !== undefined && c.period !== 0) writeCg(dir, "cpu.cfs_period_us", String(c.period));
  if (c.quota !== undefined && c.quota !== 0) writeCg(dir, "cpu.cfs_quota_us", String(c.quota));
  if (c.burst !== undefined) writeCg(dir, "cpu.cfs_burst_us", String(c.burst));
  // Realtime: the period before the runtime, which must fit in it (and in the parent's budget).
  if (c.realtimePeriod !== undefined && c.realtimePeriod !== 0) {
    writeCg(dir, "cpu.rt_period_us", String(c.realtimePeriod));
  }
  if (c.realtimeRuntime !== undefined && c.realtimeRuntime !== 0) {
    writeCg(dir, "cpu.rt_runtime_us", String(c.realtimeRuntime));
  }
  if (c.idle !== undefined) writeCg(dir, "cpu.idle", String(c.idle));
}

export function setCpuV2(dir: string, c: CpuResources): void {
  if ((c.realtimeRuntime ?? 0) !== 0 || (c.realtimePeriod ?? 0) !== 0) {
    throw unsupported(`${F}.realtimeRuntime and realtimePeriod are not supported on cgroup v2`);
  }
  if (c.idle !== undefined) writeCg(dir, "cpu.idle", String(c.idle));
  // cpu.weight is ignored by the kernel while cpu.idle is 1.
  if (c.shares !== undefined && c.shares !== 0 && c.idle !== 1) {
    writeCg(dir, "cpu.weight", String(sharesToWeight(c.shares)));
  }
  const max = cpuMax(c.quota, c.period);
  if (max !== undefined) writeCg(dir, "cpu.max", max);
  if (c.burst !== undefined) writeCg(dir, "cpu.max.burst", String(c.burst));
}

const USER_HZ = 100;
const NS_PER_TICK = 1e9 / USER_HZ;

function numbers(text: string | undefined): number[] {
  if (text === undefined || text === "") return [];
  return text.split(/\s+/).map(Number);
}

/** v1 usage comes from cpuacct, throttling from cpu (separate hierarchies on some hosts). */
export function cpuStatsV1(cpuacct: string | undefined, cpu: string | undefined, s: Stats): void {
  if (cpuacct !== undefined) {
    const u = s.cpu.usage;
    u.total = Number(readCg(cpuacct, "cpuacct.usage"));
    u.percpu = numbers(readCgOpt(cpuacct, "cpuacct.usage_percpu"));
    u.percpu_kernel = numbers(readCgOpt(cpuacct, "cpuacct.usage_percpu_sys"));
    u.percpu_user = numbers(readCgOpt(cpuacct, "cpuacct.usage_percpu_user"));
    const st = readKeyValues(cpuacct, "cpuacct.stat");
    u.user = (st["user"] ?? 0) * NS_PER_TICK;
    u.kernel = (st["system"] ?? 0) * NS_PER_TICK;
  }
  if (cpu !== undefined) {
    const st = readKeyValues(cpu, "cpu.stat");
    s.cpu.throttling = {
      periods: st["nr_periods"] ?? 0,
      throttled_periods: st["nr_throttled"] ?? 0,
      throttled_time: st["throttled_time"] ?? 0,
    };
  }
}

export function cpuStatsV2(dir: string, s: Stats): void {
  const st = readKeyValues(dir, "cpu.stat");
  s.cpu.usage.total = (st["usage_usec"] ?? 0) * 1000;
  s.cpu.usage.user = (st["user_usec"] ?? 0) * 1000;
  s.cpu.usage.kernel = (st["system_usec"] ?? 0) * 1000;
  s.cpu.throttling = {
    periods: st["nr_periods"] ?? 0,
    throttled_periods: st["nr_throttled"] ?? 0,
    throttled_time: (st["throttled_usec"] ?? 0) * 1000,
  };
}
