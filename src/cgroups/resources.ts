// linux.resources as the cgroup manager uses it: every key of the OCI `LinuxResources` object
// typed and checked once. `readResources` takes the validated spec's SpecResources (devices
// already typed, the rest as written); `readResourcesJson` takes a whole object, as
// `update --resources` reads it. Errors name the field.

import { readDeviceRule } from "../config/device-rule.ts";
import { SpecError } from "../config/errors.ts";
import {
  at,
  boolean,
  entry,
  fail,
  failWith,
  get,
  type JsonObject,
  list,
  object,
  opt,
  orList,
  quote,
  req,
  string,
  stringMap,
  uint32,
} from "../config/read.ts";
import type { DeviceRule, SpecResources } from "../config/types.ts";
import { LeopardError } from "../util/errors.ts";

/** Bytes, counts or microseconds; -1 means "no limit". */
export type Limit = number;

export interface MemoryResources {
  readonly limit: Limit | undefined;
  readonly reservation: Limit | undefined;
  /** v1 meaning: memory + swap (-1 unlimited). */
  readonly swap: Limit | undefined;
  readonly kernel: Limit | undefined;
  readonly kernelTCP: Limit | undefined;
  readonly swappiness: number | undefined;
  readonly disableOOMKiller: boolean | undefined;
  readonly useHierarchy: boolean | undefined;
  readonly checkBeforeUpdate: boolean | undefined;
}

export interface CpuResources {
  readonly shares: number | undefined;
  readonly quota: number | undefined;
  readonly burst: number | undefined;
  readonly period: number | undefined;
  readonly realtimeRuntime: number | undefined;
  readonly realtimePeriod: number | undefined;
  readonly cpus: string | undefined;
  readonly mems: string | undefined;
  readonly idle: number | undefined;
}

export interface PidsResources {
  /** > 0 a limit; -1 no limit; 0 unset (as runc reads it: pids.max is left alone). */
  readonly limit: number;
}

export interface WeightDevice {
  readonly major: number;
  readonly minor: number;
  readonly weight: number | undefined;
  readonly leafWeight: number | undefined;
}

export interface ThrottleDevice {
  readonly major: number;
  readonly minor: number;
  readonly rate: number;
}

export interface BlockIoResources {
  readonly weight: number | undefined;
  readonly leafWeight: number | undefined;
  readonly weightDevice: readonly WeightDevice[];
  readonly throttleReadBpsDevice: readonly ThrottleDevice[];
  readonly throttleWriteBpsDevice: readonly ThrottleDevice[];
  readonly throttleReadIOPSDevice: readonly ThrottleDevice[];
  readonly throttleWriteIOPSDevice: readonly ThrottleDevice[];
}

export interface HugepageLimit {
  /** "2MB", "1GB", "64KB" … as the cgroup file names spell it. */
  readonly pageSize: string;
  readonly limit: number;
}

export interface NetworkResources {
  readonly classID: number | undefined;
  readonly priorities: readonly { readonly name: string; readonly priority: number }[];
}

export interface RdmaLimit {
  readonly hcaHandles: number | undefined;
  readonly hcaObjects: number | undefined;
}

export interface Resources {
  readonly devices: readonly DeviceRule[];
  readonly memory: MemoryResources | undefined;
  readonly cpu: CpuResources | undefined;
  readonly pids: PidsResources | undefined;
  readonly blockIO: BlockIoResources | undefined;
  readonly hugepageLimits: readonly HugepageLimit[];
  readonly network: NetworkResources | undefined;
  readonly rdma: Readonly<Record<string, RdmaLimit>>;
  readonly unified: Readonly<Record<string, string>>;
}

export const NO_RESOURCES: Resources = {
  devices: [],
  memory: undefined,
  cpu: undefined,
  pids: undefined,
  blockIO: undefined,
  hugepageLimits: [],
  network: undefined,
  rdma: {},
  unified: {},
};

const KNOWN = ["devices", "memory", "cpu", "pids", "blockIO", "hugepageLimits", "network", "rdma", "unified"];

/** linux.resources of a validated spec, fully typed. */
export function readResources(r: SpecResources | undefined, field = "linux.resources"): Resources {
  if (r === undefined) return NO_RESOURCES;
  return { ...readOther(r.other, field), devices: r.devices };
}

/**
 * A whole LinuxResources object (the `update --resources` file), devices included. Errors are
 * "invalid-argument" and name the field without config.json's prefix: `resources.memory.limit
 * must be an integer`.
 */
export function readResourcesJson(v: unknown, field = "resources"): Resources {
  try {
    const o = object(v, field);
    return {
      ...readOther(o, field),
      devices: opt(o, "devices", field, (e, f) => list(e, f, readDeviceRule)) ?? [],
    };
  } catch (e) {
    if (e instanceof SpecError) {
      throw new LeopardError("invalid-argument", e.message.replace(/^config\.json: /, ""), { cause: e });
    }
    throw e;
  }
}

function readOther(o: JsonObject, field: string): Omit<Resources, "devices"> {
  for (const k of Object.keys(o)) {
    if (!KNOWN.includes(k)) fail(at(field, k), `is not a resource leopard knows (${orList(KNOWN)})`);
  }
  return {
    memory: opt(o, "memory", field, memory),
    cpu: opt(o, "cpu", field, cpu),
    pids: opt(o, "pids", field, pids),
    blockIO: opt(o, "blockIO", field, blockIO),
    hugepageLimits: opt(o, "hugepageLimits", field, (e, f) => list(e, f, hugepage)) ?? [],
    network: opt(o, "network", field, network),
    rdma: opt(o, "rdma", field, rdma) ?? {},
    unified: opt(o, "unified", field, unified) ?? {},
  };
}

/** Values at or above 2^62 are how Go writers spell "unlimited" (MaxInt64); they read as -1. */
const HUGE = 2 ** 62;

/** An int64 limit: -1 (or any negative, as runc treats them) means unlimited. */
function limit(v: unknown, f: string): Limit {
  if (typeof v !== "number" || !Number.isInteger(v)) fail(f, "must be an integer");
  if (v >= HUGE || v < 0) return -1;
  return v;
}

function nonNegative(v: unknown, f: string): number {
  if (typeof v !== "number" || !Number.isInteger(v)) fail(f, "must be an integer");
  if (v < 0 || v > Number.MAX_SAFE_INTEGER) fail(f, `${v} is out of range (0 to ${Number.MAX_SAFE_INTEGER})`);
  return v;
}

function ranged(min: number, max: number) {
  return (v: unknown, f: string): number => {
    if (typeof v !== "number" || !Number.isInteger(v)) fail(f, "must be an integer");
    if (v < min || v > max) fail(f, `${v} is out of range (${min} to ${max})`);
    return v;
  };
}

function memory(v: unknown, field: string): MemoryResources {
  const o = object(v, field);
  const m: MemoryResources = {
    limit: opt(o, "limit", field, limit),
    reservation: opt(o, "reservation", field, limit),
    swap: opt(o, "swap", field, limit),
    kernel: opt(o, "kernel", field, limit),
    kernelTCP: opt(o, "kernelTCP", field, limit),
    swappiness: opt(o, "swappiness", field, (e, f) => {
      // Go writers send uint64(-1) for "unset": treat anything above 100 that way, as runc does.
      const n = nonNegativeOrHuge(e, f);
      return n === undefined ? undefined : ranged(0, 100)(n, f);
    }),
    disableOOMKiller: opt(o, "disableOOMKiller", field, boolean),
    useHierarchy: opt(o, "useHierarchy", field, boolean),
    checkBeforeUpdate: opt(o, "checkBeforeUpdate", field, boolean),
  };
  if (m.swap !== undefined && m.swap !== -1 && m.limit !== undefined && m.limit !== -1 && m.swap < m.limit) {
    fail(
      at(field, "swap"),
      `${m.swap} must not be less than memory.limit ${m.limit} (it counts memory plus swap)`,
    );
  }
  return m;
}

function nonNegativeOrHuge(v: unknown, f: string): number | undefined {
  if (typeof v !== "number" || !Number.isInteger(v)) fail(f, "must be an integer");
  return v >= HUGE ? undefined : v;
}

function cpu(v: unknown, field: string): CpuResources {
  const o = object(v, field);
  const cpuset = (e: unknown, f: string): string => {
    const s = string(e, f).trim();
    if (!/^(\d+(-\d+)?)(,\d+(-\d+)?)*$/.test(s) && s !== "")
      fail(f, `${quote(s)} is not a list like "0-3,5"`);
    return s;
  };
  return {
    shares: opt(o, "shares", field, nonNegative),
    quota: opt(o, "quota", field, limit),
    burst: opt(o, "burst", field, nonNegative),
    period: opt(o, "period", field, nonNegative),
    realtimeRuntime: opt(o, "realtimeRuntime", field, limit),
    realtimePeriod: opt(o, "realtimePeriod", field, nonNegative),
    cpus: opt(o, "cpus", field, cpuset),
    mems: opt(o, "mems", field, cpuset),
    idle: opt(o, "idle", field, ranged(0, 1)),
  };
}

function pids(v: unknown, field: string): PidsResources {
  const o = object(v, field);
  return { limit: req(o, "limit", field, limit) };
}

function major(o: JsonObject, f: string): number {
  return req(o, "major", f, uint32);
}
function minor(o: JsonObject, f: string): number {
  return req(o, "minor", f, uint32);
}

function throttle(v: unknown, f: string): ThrottleDevice {
  const o = object(v, f);
  return { major: major(o, f), minor: minor(o, f), rate: req(o, "rate", f, nonNegative) };
}

/** [10, 1000]; 0 means unset, as runc reads it (Docker sends `weight: 0` on every create and update). */
function blkioWeight(v: unknown, f: string): number | undefined {
  return v === 0 ? undefined : ranged(10, 1000)(v, f);
}

function blockIO(v: unknown, field: string): BlockIoResources {
  const o = object(v, field);
  const throttles = (k: string): ThrottleDevice[] => opt(o, k, field, (e, f) => list(e, f, throttle)) ?? [];
  return {
    weight: opt(o, "weight", field, blkioWeight),
    leafWeight: opt(o, "leafWeight", field, blkioWeight),
    weightDevice:
      opt(o, "weightDevice", field, (e, f) =>
        list(e, f, (d, g): WeightDevice => {
          const w = object(d, g);
          return {
            major: major(w, g),
            minor: minor(w, g),
            weight: opt(w, "weight", g, blkioWeight),
            leafWeight: opt(w, "leafWeight", g, blkioWeight),
          };
        }),
      ) ?? [],
    throttleReadBpsDevice: throttles("throttleReadBpsDevice"),
    throttleWriteBpsDevice: throttles("throttleWriteBpsDevice"),
    throttleReadIOPSDevice: throttles("throttleReadIOPSDevice"),
    throttleWriteIOPSDevice: throttles("throttleWriteIOPSDevice"),
  };
}

function hugepage(v: unknown, f: string): HugepageLimit {
  const o = object(v, f);
  const pageSize = req(o, "pageSize", f, string);
  if (!/^\d+[KMG]B$/.test(pageSize))
    fail(at(f, "pageSize"), `${quote(pageSize)} is not a size like "2MB" or "1GB"`);
  return { pageSize, limit: req(o, "limit", f, nonNegative) };
}

function network(v: unknown, field: string): NetworkResources {
  const o = object(v, field);
  return {
    classID: opt(o, "classID", field, uint32),
    priorities:
      opt(o, "priorities", field, (e, f) =>
        list(e, f, (p, g) => {
          const x = object(p, g);
          return { name: req(x, "name", g, string), priority: req(x, "priority", g, uint32) };
        }),
      ) ?? [],
  };
}

function rdma(v: unknown, field: string): Record<string, RdmaLimit> {
  const o = object(v, field);
  const out: Record<string, RdmaLimit> = {};
  for (const k of Object.keys(o)) {
    const f = entry(field, k);
    if (!/^[\w.-]+$/.test(k)) fail(f, "is not a valid rdma device name");
    const d = object(get(o, k), f);
    out[k] = { hcaHandles: opt(d, "hcaHandles", f, uint32), hcaObjects: opt(d, "hcaObjects", f, uint32) };
  }
  return out;
}

function unified(v: unknown, field: string): Record<string, string> {
  const m = stringMap(v, field);
  for (const k of Object.keys(m)) {
    // A key names one file in the container's own cgroup directory, never a path out of it.
    if (!/^[a-z_]+\.[\w.]+$/.test(k) || k.includes("..")) {
      failWith(entry(field, k), `${entry(field, k)} is not a cgroup file name like "memory.high"`);
    }
  }
  return m;
}
