// config.json `linux`: namespaces, id maps, devices, cgroup settings, masks, sysctls and the
// security sections, each checked on its own. Rules that tie fields together are in
// validate-rules.ts.

import { readDeviceRule } from "./device-rule.ts";
import {
  absolute,
  absolutes,
  at,
  boolean,
  entry,
  fail,
  firstDuplicate,
  get,
  int64,
  integer,
  type JsonObject,
  list,
  nonEmptyString,
  object,
  oneOf,
  opt,
  orList,
  quote,
  req,
  string,
  stringMap,
  strings,
  uint32,
} from "./read.ts";
import {
  DEVICE_TYPES,
  NAMESPACE_TYPES,
  type NetDevice,
  PERSONALITY_DOMAINS,
  ROOTFS_PROPAGATIONS,
  type SpecDevice,
  type SpecIntelRdt,
  type SpecLinux,
  type SpecNamespace,
  type SpecPersonality,
  type SpecResources,
  type TimeOffset,
  type TimeOffsets,
} from "./types.ts";
import { readIdMappings } from "./validate-ids.ts";
import { readSeccomp } from "./validate-seccomp.ts";

export const EMPTY_LINUX: SpecLinux = readLinux({}, "linux");

export function readLinux(v: unknown, field: string): SpecLinux {
  const o = object(v, field);
  return {
    namespaces: opt(o, "namespaces", field, readNamespaces) ?? [],
    uidMappings: opt(o, "uidMappings", field, readIdMappings) ?? [],
    gidMappings: opt(o, "gidMappings", field, readIdMappings) ?? [],
    timeOffsets: opt(o, "timeOffsets", field, readTimeOffsets),
    devices: opt(o, "devices", field, readDevices) ?? [],
    netDevices: opt(o, "netDevices", field, readNetDevices) ?? {},
    cgroupsPath: opt(o, "cgroupsPath", field, string),
    resources: opt(o, "resources", field, readResources),
    rootfsPropagation: opt(o, "rootfsPropagation", field, (e, f) =>
      oneOf(e, f, ROOTFS_PROPAGATIONS, "a mount propagation", orList(ROOTFS_PROPAGATIONS)),
    ),
    maskedPaths: opt(o, "maskedPaths", field, absolutes) ?? [],
    readonlyPaths: opt(o, "readonlyPaths", field, absolutes) ?? [],
    mountLabel: opt(o, "mountLabel", field, string),
    sysctl: opt(o, "sysctl", field, stringMap) ?? {},
    seccomp: opt(o, "seccomp", field, readSeccomp),
    personality: opt(o, "personality", field, readPersonality),
    intelRdt: opt(o, "intelRdt", field, readIntelRdt),
  };
}

function readNamespaces(v: unknown, field: string): SpecNamespace[] {
  const out = list(v, field, (e, f): SpecNamespace => {
    const o = object(e, f);
    return {
      type: req(o, "type", f, (x, g) => oneOf(x, g, NAMESPACE_TYPES, "a namespace type")),
      path: opt(o, "path", f, absolute),
    };
  });
  const dup = firstDuplicate(out.map((n) => n.type));
  if (dup !== undefined) fail(field, `has ${quote(dup)} twice`);
  return out;
}

const CLOCKS = ["monotonic", "boottime"] as const;

function readTimeOffsets(v: unknown, field: string): TimeOffsets {
  const o = object(v, field);
  for (const k of Object.keys(o)) {
    if (!(CLOCKS as readonly string[]).includes(k)) {
      fail(entry(field, k), `is not a clock with an offset (need ${orList(CLOCKS)})`);
    }
  }
  const offset = (e: unknown, f: string): TimeOffset => {
    const x = object(e, f);
    return {
      secs: opt(x, "secs", f, int64) ?? 0,
      nanosecs: opt(x, "nanosecs", f, (n, g) => integer(n, g, 0, 999_999_999)) ?? 0,
    };
  };
  const monotonic = opt(o, "monotonic", field, offset);
  const boottime = opt(o, "boottime", field, offset);
  return { ...(monotonic && { monotonic }), ...(boottime && { boottime }) };
}

function readDevices(v: unknown, field: string): SpecDevice[] {
  const out = list(v, field, readDevice);
  const dup = firstDuplicate(out.map((d) => d.path));
  if (dup !== undefined) fail(field, `has ${quote(dup)} twice`);
  return out;
}

function readDevice(v: unknown, field: string): SpecDevice {
  const o = object(v, field);
  const type = req(o, "type", field, (e, f) =>
    oneOf(e, f, DEVICE_TYPES, "a device type", orList(DEVICE_TYPES)),
  );
  const path = req(o, "path", field, absolute);
  if (path === "/") fail(at(field, "path"), '"/" cannot be a device');
  const num = (e: unknown, f: string): number => integer(e, f, 0, 0xffff_ffff);
  // A FIFO has no device number; every other type needs both.
  const major = type === "p" ? (opt(o, "major", field, num) ?? 0) : req(o, "major", field, num);
  const minor = type === "p" ? (opt(o, "minor", field, num) ?? 0) : req(o, "minor", field, num);
  const fileMode = opt(o, "fileMode", field, uint32);
  return {
    type,
    path,
    major,
    minor,
    // The file type comes from `type`; keep the permission bits only (as runc does).
    fileMode: fileMode === undefined ? undefined : fileMode & 0o7777,
    uid: opt(o, "uid", field, uint32),
    gid: opt(o, "gid", field, uint32),
  };
}

function readNetDevices(v: unknown, field: string): Record<string, NetDevice> {
  const o = object(v, field);
  const out: Record<string, NetDevice> = {};
  for (const name of Object.keys(o)) {
    const f = entry(field, name);
    if (!/^[^/\s:]{1,15}$/.test(name)) fail(f, "is not a network interface name");
    const d = object(get(o, name), f);
    out[name] = { name: opt(d, "name", f, nonEmptyString) };
  }
  return out;
}

function readResources(v: unknown, field: string): SpecResources {
  const o = object(v, field);
  const other: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(o)) if (k !== "devices" && val !== null) other[k] = val;
  return { devices: opt(o, "devices", field, (e, f) => list(e, f, readDeviceRule)) ?? [], other };
}

function readPersonality(v: unknown, field: string): SpecPersonality {
  const o = object(v, field);
  return {
    domain: req(o, "domain", field, (e, f) =>
      oneOf(e, f, PERSONALITY_DOMAINS, "a personality domain", orList(PERSONALITY_DOMAINS)),
    ),
    flags: opt(o, "flags", field, strings) ?? [],
  };
}

function readIntelRdt(v: unknown, field: string): SpecIntelRdt {
  const o: JsonObject = object(v, field);
  const closID = opt(o, "closID", field, string);
  // closID names a directory under /sys/fs/resctrl.
  if (closID !== undefined && (closID === "" || closID === "." || closID === ".." || closID.includes("/"))) {
    fail(at(field, "closID"), `${quote(closID)} is not a valid directory name`);
  }
  const memBw = (e: unknown, f: string): string => {
    const s = string(e, f);
    if (!s.startsWith("MB:")) fail(f, `${quote(s)} must start with "MB:"`);
    return s;
  };
  return {
    closID,
    l3CacheSchema: opt(o, "l3CacheSchema", field, string),
    memBwSchema: opt(o, "memBwSchema", field, memBw),
    enableCMT: opt(o, "enableCMT", field, boolean) ?? false,
    enableMBM: opt(o, "enableMBM", field, boolean) ?? false,
  };
}
