// `leopard-oci update` flags (runc's names and units) → Resources, for the manager's set().
// Only what a flag names is set; everything else stays undefined and is left alone.
import { LeopardError } from "../util/errors.ts";
import type { CpuResources, MemoryResources, Resources } from "./resources.ts";
import { NO_RESOURCES } from "./resources.ts";
import { UPDATE_FLAGS } from "./update-flags.ts";

/** Flag name (without "--") → value as typed. */
export type UpdateFlags = Readonly<Record<string, string | undefined>>;

export { UPDATE_FLAGS } from "./update-flags.ts";

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
  p: 2 ** 50,
};

/** "512m", "1g", "1.5GiB", "4096", or "-1" for unlimited (docker's RAMInBytes, binary units). */
export function parseBytes(flag: string, v: string): number {
  if (v.trim() === "-1") return -1;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?$/i.exec(v.trim());
  const unit = UNITS[(m?.[2] ?? "").toLowerCase()];
  if (m === null || unit === undefined || (m[3] !== undefined && m[2] === "" && m[3].toLowerCase() !== "b")) {
    throw new LeopardError(
      "invalid-argument",
      `--${flag} ${JSON.stringify(v)} is not a size like "512m" or "1g"`,
    );
  }
  return Math.floor(Number(m[1]) * unit);
}

function int(flag: string, v: string, min: number): number {
  const n = Number(v);
  if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new LeopardError(
      "invalid-argument",
      `--${flag} ${JSON.stringify(v)} is not an integer of at least ${min}`,
    );
  }
  return n;
}

export function resourcesFromFlags(flags: UpdateFlags): Resources {
  for (const k of Object.keys(flags)) {
    if (flags[k] !== undefined && !(UPDATE_FLAGS as readonly string[]).includes(k)) {
      throw new LeopardError("invalid-argument", `--${k} is not a resource flag of update`);
    }
  }
  const f = (k: (typeof UPDATE_FLAGS)[number]) => flags[k];
  const opt = <T>(k: (typeof UPDATE_FLAGS)[number], read: (flag: string, v: string) => T): T | undefined => {
    const v = f(k);
    return v === undefined ? undefined : read(k, v);
  };
  const nonNeg = (flag: string, v: string) => int(flag, v, 0);
  const memory: MemoryResources = {
    limit: opt("memory", parseBytes),
    reservation: opt("memory-reservation", parseBytes),
    swap: opt("memory-swap", parseBytes),
    kernel: opt("kernel-memory", parseBytes),
    kernelTCP: opt("kernel-memory-tcp", parseBytes),
    swappiness: undefined,
    disableOOMKiller: undefined,
    useHierarchy: undefined,
    checkBeforeUpdate: undefined,
  };
  const cpu: CpuResources = {
    shares: opt("cpu-share", nonNeg),
    quota: opt("cpu-quota", (k, v) => int(k, v, -1)),
    burst: opt("cpu-burst", nonNeg),
    period: opt("cpu-period", nonNeg),
    realtimeRuntime: opt("cpu-rt-runtime", (k, v) => int(k, v, -1)),
    realtimePeriod: opt("cpu-rt-period", nonNeg),
    cpus: f("cpuset-cpus"),
    mems: f("cpuset-mems"),
    idle: opt("cpu-idle", (k, v) => {
      const n = int(k, v, 0);
      if (n > 1) throw new LeopardError("invalid-argument", `--${k} must be 0 or 1`);
      return n;
    }),
  };
  const weight = opt("blkio-weight", (k, v) => {
    const n = int(k, v, 0);
    if (n !== 0 && (n < 10 || n > 1000))
      throw new LeopardError("invalid-argument", `--${k} ${n} is out of range (10 to 1000)`);
    return n;
  });
  const pids = opt("pids-limit", (k, v) => int(k, v, -1));
  const set = (o: object) => Object.values(o).some((v) => v !== undefined);
  return {
    ...NO_RESOURCES,
    memory: set(memory) ? memory : undefined,
    cpu: set(cpu) ? cpu : undefined,
    pids: pids === undefined ? undefined : { limit: pids },
    blockIO:
      weight === undefined || weight === 0
        ? undefined
        : {
            weight,
            leafWeight: undefined,
            weightDevice: [],
            throttleReadBpsDevice: [],
            throttleWriteBpsDevice: [],
            throttleReadIOPSDevice: [],
            throttleWriteIOPSDevice: [],
          },
  };
}
