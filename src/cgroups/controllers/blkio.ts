// blkio (v1) and io (v2): weights, per-device weights, bps/iops throttles; usage.
//
// v1 weights go to blkio.weight (CFQ) or blkio.bfq.weight (BFQ), whichever the kernel has. v2
// takes io.bfq.weight in blkio's own range [1, 1000] when BFQ is there, else io.weight, into
// which blkio's [10, 1000] is scaled to [1, 10000].
import { blkioWeightToIoWeight } from "../convert.ts";
import { hasFile, readCgOpt, unsupported, writeCg } from "../files.ts";
import type { BlockIoResources, ThrottleDevice } from "../resources.ts";
import type { BlkioEntry, Stats } from "../stats.ts";

const F = "linux.resources.blockIO";

function weightFileV1(
  dir: string,
  base: "weight" | "weight_device" | "leaf_weight" | "leaf_weight_device",
): string {
  if (hasFile(dir, `blkio.${base}`)) return `blkio.${base}`;
  if (hasFile(dir, `blkio.bfq.${base}`)) return `blkio.bfq.${base}`;
  throw unsupported(
    `${F} ${base.replace("_device", "Device").replace("leaf_weight", "leafWeight")} needs a proportional I/O scheduler (CFQ or BFQ), which this host's blkio cgroup lacks`,
  );
}

const THROTTLES = [
  ["throttleReadBpsDevice", "read_bps_device", "rbps"],
  ["throttleWriteBpsDevice", "write_bps_device", "wbps"],
  ["throttleReadIOPSDevice", "read_iops_device", "riops"],
  ["throttleWriteIOPSDevice", "write_iops_device", "wiops"],
] as const;

export function setBlkioV1(dir: string, b: BlockIoResources): void {
  if (b.weight !== undefined) writeCg(dir, weightFileV1(dir, "weight"), String(b.weight));
  if (b.leafWeight !== undefined) writeCg(dir, weightFileV1(dir, "leaf_weight"), String(b.leafWeight));
  for (const d of b.weightDevice) {
    if (d.weight !== undefined)
      writeCg(dir, weightFileV1(dir, "weight_device"), `${d.major}:${d.minor} ${d.weight}`);
    if (d.leafWeight !== undefined) {
      writeCg(dir, weightFileV1(dir, "leaf_weight_device"), `${d.major}:${d.minor} ${d.leafWeight}`);
    }
  }
  for (const [key, file] of THROTTLES) {
    for (const t of b[key]) writeCg(dir, `blkio.throttle.${file}`, `${t.major}:${t.minor} ${t.rate}`);
  }
}

export function setIoV2(dir: string, b: BlockIoResources): void {
  if (b.leafWeight !== undefined || b.weightDevice.some((d) => d.leafWeight !== undefined)) {
    throw unsupported(`${F}.leafWeight is not supported on cgroup v2`);
  }
  const bfq = hasFile(dir, "io.bfq.weight");
  if (b.weight !== undefined) {
    if (bfq) writeCg(dir, "io.bfq.weight", String(b.weight));
    else writeCg(dir, "io.weight", `default ${blkioWeightToIoWeight(b.weight)}`);
  }
  for (const d of b.weightDevice) {
    if (d.weight === undefined) continue;
    if (bfq) writeCg(dir, "io.bfq.weight", `${d.major}:${d.minor} ${d.weight}`);
    else writeCg(dir, "io.weight", `${d.major}:${d.minor} ${blkioWeightToIoWeight(d.weight)}`);
  }
  // io.max takes one device per write, with any of its four keys; a rate of 0 lifts a limit.
  const byDevice = new Map<string, string[]>();
  for (const [key, , v2key] of THROTTLES) {
    for (const t of b[key] as readonly ThrottleDevice[]) {
      const dev = `${t.major}:${t.minor}`;
      const list = byDevice.get(dev) ?? [];
      list.push(`${v2key}=${t.rate === 0 ? "max" : t.rate}`);
      byDevice.set(dev, list);
    }
  }
  for (const [dev, keys] of byDevice) writeCg(dir, "io.max", `${dev} ${keys.join(" ")}`);
}

/** "8:0 Read 4096" lines (the "Total" line is skipped). */
export function parseBlkioV1(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? "").split("\n")) {
    const [dev, op, value] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? "");
    if (m === null || op === undefined || value === undefined) continue;
    out.push({ major: Number(m[1]), minor: Number(m[2]), op, value: Number(value) });
  }
  return out;
}

export function blkioStatsV1(dir: string, s: Stats): void {
  // CFQ's files when the kernel has them, else the throttle layer's (which always counts).
  const pick = (name: string): string | undefined =>
    readCgOpt(dir, `blkio.${name}`) ?? readCgOpt(dir, `blkio.throttle.${name}`);
  s.blkio.ioServiceBytesRecursive = parseBlkioV1(pick("io_service_bytes_recursive"));
  s.blkio.ioServicedRecursive = parseBlkioV1(pick("io_serviced_recursive"));
}

/** io.stat "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" → runc's v1-shaped entries. */
export function ioStatsV2(dir: string, s: Stats): void {
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const line of (readCgOpt(dir, "io.stat") ?? "").split("\n")) {
    const [dev, ...kvs] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? "");
    if (m === null) continue;
    const major = Number(m[1]);
    const minor = Number(m[2]);
    for (const kv of kvs) {
      const [k, v] = kv.split("=");
      const value = Number(v);
      if (k === "rbytes") bytes.push({ major, minor, op: "Read", value });
      else if (k === "wbytes") bytes.push({ major, minor, op: "Write", value });
      else if (k === "rios") ios.push({ major, minor, op: "Read", value });
      else if (k === "wios") ios.push({ major, minor, op: "Write", value });
    }
  }
  s.blkio.ioServiceBytesRecursive = bytes;
  s.blkio.ioServicedRecursive = ios;
}
