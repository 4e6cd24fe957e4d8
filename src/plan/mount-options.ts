// OCI mount options → mount(2) flags, propagation flags and the data string. A pure table.

export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  SYNCHRONOUS: 16,
  REMOUNT: 32,
  MANDLOCK: 64,
  DIRSYNC: 128,
  NOATIME: 1024,
  NODIRATIME: 2048,
  BIND: 4096,
  MOVE: 8192,
  REC: 16384,
  SILENT: 32768,
  UNBINDABLE: 1 << 17,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
  SHARED: 1 << 20,
  RELATIME: 1 << 21,
  STRICTATIME: 1 << 24,
  LAZYTIME: 1 << 25,
} as const;

/** option → [set, clear]: a flag the option sets, or one it clears ("rw" clears RDONLY). */
const FLAGS: Record<string, [set: number, clear: number]> = {
  ro: [MS.RDONLY, 0],
  rw: [0, MS.RDONLY],
  nosuid: [MS.NOSUID, 0],
  suid: [0, MS.NOSUID],
  nodev: [MS.NODEV, 0],
  dev: [0, MS.NODEV],
  noexec: [MS.NOEXEC, 0],
  exec: [0, MS.NOEXEC],
  sync: [MS.SYNCHRONOUS, 0],
  async: [0, MS.SYNCHRONOUS],
  dirsync: [MS.DIRSYNC, 0],
  mand: [MS.MANDLOCK, 0],
  nomand: [0, MS.MANDLOCK],
  noatime: [MS.NOATIME, 0],
  atime: [0, MS.NOATIME],
  nodiratime: [MS.NODIRATIME, 0],
  diratime: [0, MS.NODIRATIME],
  relatime: [MS.RELATIME, 0],
  norelatime: [0, MS.RELATIME],
  strictatime: [MS.STRICTATIME, 0],
  nostrictatime: [0, MS.STRICTATIME],
  lazytime: [MS.LAZYTIME, 0],
  nolazytime: [0, MS.LAZYTIME],
  silent: [MS.SILENT, 0],
  loud: [0, MS.SILENT],
  remount: [MS.REMOUNT, 0],
  bind: [MS.BIND, 0],
  rbind: [MS.BIND | MS.REC, 0],
};

const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

/** Options leopard does not support yet; refused with a clear error instead of passed as data. */
const UNSUPPORTED = new Set(["idmap", "ridmap", "rro", "rrw", "rnosuid", "rnodev", "rnoexec"]);

export interface ParsedOptions {
  flags: number;
  propagation: number[];
  data: string[];
  bind: boolean;
  recursive: boolean;
  /** tmpcopyup: the tmpfs starts with what the directory it covers held (see mounts.ts). */
  copyUp: boolean;
}

/** Splits options into flags, propagation changes and fs-specific data. Throws on unsupported ones. */
export function parseMountOptions(options: readonly string[]): ParsedOptions {
  let flags = 0;
  const propagation: number[] = [];
  const data: string[] = [];
  let copyUp = false;
  for (const opt of options) {
    if (opt === "tmpcopyup") {
      copyUp = true;
      continue;
    }
    const f = FLAGS[opt];
    if (f !== undefined) {
      flags = (flags | f[0]) & ~f[1];
      continue;
    }
    const p = PROPAGATION[opt];
    if (p !== undefined) {
      propagation.push(p);
      continue;
    }
    if (UNSUPPORTED.has(opt)) throw new Error(`mount option "${opt}" is not supported yet`);
    data.push(opt);
  }
  return {
    flags,
    propagation,
    data,
    bind: (flags & MS.BIND) !== 0,
    recursive: (flags & MS.REC) !== 0,
    copyUp,
  };
}

/** The propagation flag for linux.rootfsPropagation; undefined for an unknown value. */
export function propagationFlag(name: string): number | undefined {
  return PROPAGATION[name];
}

/** A flags value as the mount(8) options a person would type. */
export function describeFlags(flags: number): string {
  const names: string[] = [];
  for (const [name, [set]] of Object.entries(FLAGS)) {
    if (set !== 0 && name !== "rbind" && (flags & set) === set) names.push(name);
  }
  for (const [name, f] of Object.entries(PROPAGATION)) if ((flags & ~MS.REC) === f) names.push(name);
  return names.join(",");
}

/** Every option name leopard handles itself (for `features`); others pass to the filesystem as data. */
export function supportedMountOptions(): string[] {
  return [...Object.keys(FLAGS), ...Object.keys(PROPAGATION)].filter((o) => !UNSUPPORTED.has(o)).sort();
}
