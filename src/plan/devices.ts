// /dev for the container: runc's default nodes plus linux.devices.
import type { PlanSpec } from "./types.ts";

export interface DeviceNode {
  path: string;
  /** S_IFCHR / S_IFBLK / S_IFIFO | permission bits */
  mode: number;
  major: number;
  minor: number;
  uid: number;
  gid: number;
}

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

const DEFAULTS: readonly [string, number, number][] = [
  ["/dev/null", 1, 3],
  ["/dev/zero", 1, 5],
  ["/dev/full", 1, 7],
  ["/dev/random", 1, 8],
  ["/dev/urandom", 1, 9],
  ["/dev/tty", 5, 0],
];

/** The device nodes to create; config devices replace defaults at the same path. */
export function planDevices(spec: PlanSpec, _userns: boolean): DeviceNode[] {
  const out = new Map<string, DeviceNode>();
  for (const [path, major, minor] of DEFAULTS) {
    out.set(path, { path, mode: S_IFCHR | 0o666, major, minor, uid: 0, gid: 0 });
  }
  for (const d of spec.linux?.devices ?? []) {
    const kind = d.type === "b" ? S_IFBLK : d.type === "p" ? S_IFIFO : S_IFCHR;
    out.set(d.path, {
      path: d.path,
      mode: kind | ((d.fileMode ?? 0o666) & 0o7777),
      major: d.major ?? 0,
      minor: d.minor ?? 0,
      uid: d.uid ?? 0,
      gid: d.gid ?? 0,
    });
  }
  return [...out.values()];
}

/** glibc's makedev encoding. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}
