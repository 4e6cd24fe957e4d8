// OCI mount options → mount(2) flags, propagation flags and the data string. A pure table.
import { LeopardError } from "../util/errors.ts";

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

/** mount_setattr(2)'s MOUNT_ATTR_* bits (Linux 5.12+). */
export const MOUNT_ATTR = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  /** The atime mode is a 3-bit field, not a set of flags: changing it clears the whole field. */
  ATIME_MASK: 0x70,
  RELATIME: 0,
  NOATIME: 0x10,
  STRICTATIME: 0x20,
  NODIRATIME: 0x80,
  IDMAP: 0x100000,
  NOSYMFOLLOW: 0x200000,
} as const;

const A = MOUNT_ATTR;
/**
 * The recursive options (runtime-spec: "rro", "rnosuid", ...): option → [set, clear] for
 * mount_setattr(AT_RECURSIVE) on the mount and every mount below it, after it is made.
 */
const RECURSIVE: Record<string, [set: number, clear: number]> = {
  rro: [A.RDONLY, 0],
  rrw: [0, A.RDONLY],
  rnosuid: [A.NOSUID, 0],
  rsuid: [0, A.NOSUID],
  rnodev: [A.NODEV, 0],
  rdev: [0, A.NODEV],
  rnoexec: [A.NOEXEC, 0],
  rexec: [0, A.NOEXEC],
  rnodiratime: [A.NODIRATIME, 0],
  rdiratime: [0, A.NODIRATIME],
  rnosymfollow: [A.NOSYMFOLLOW, 0],
  rsymfollow: [0, A.NOSYMFOLLOW],
  rrelatime: [A.RELATIME, A.ATIME_MASK],
  rnoatime: [A.NOATIME, A.ATIME_MASK],
  rstrictatime: [A.STRICTATIME, A.ATIME_MASK],
};

/** Options leopard does not support yet; refused with a clear error instead of passed as data. */
const UNSUPPORTED = new Set(["ratime", "rnorelatime", "rnostrictatime"]);

export interface ParsedOptions {
  flags: number;
  propagation: number[];
  data: string[];
  bind: boolean;
  recursive: boolean;
  /** tmpcopyup: the tmpfs starts with what the directory it covers held (see mounts.ts). */
  copyUp: boolean;
  /** The recursive options as one mount_setattr(AT_RECURSIVE): set and clear masks (both 0: none). */
  recursiveAttr: { set: number; clear: number };
  /** "idmap" (the mount itself) or "ridmap" (and every mount below it), for a bind mount. */
  idmap: "none" | "idmap" | "ridmap";
}

/** Splits options into flags, propagation changes and fs-specific data. Throws on unsupported ones. */
export function parseMountOptions(options: readonly string[]): ParsedOptions {
  let flags = 0;
  const propagation: number[] = [];
  const data: string[] = [];
  let copyUp = false;
  let idmap: ParsedOptions["idmap"] = "none";
  const attr = { set: 0, clear: 0 };
  for (const opt of options) {
    if (opt === "tmpcopyup") {
      copyUp = true;
      continue;
    }
    if (opt === "idmap" || opt === "ridmap") {
      if (idmap !== "ridmap") idmap = opt;
      continue;
    }
    const r = RECURSIVE[opt];
    if (r !== undefined) {
      // A later option wins over an earlier one that touches the same attribute.
      attr.set = (attr.set & ~r[1]) | r[0];
      attr.clear = (attr.clear & ~r[0]) | r[1];
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
    if (UNSUPPORTED.has(opt))
      throw new LeopardError("unsupported", `mount option "${opt}" is not supported yet`);
    data.push(opt);
  }
  return {
    flags,
    propagation,
    data,
    bind: (flags & MS.BIND) !== 0,
    recursive: (flags & MS.REC) !== 0,
    copyUp,
    recursiveAttr: attr,
    idmap,
  };
}

/** The propagation flag for linux.rootfsPropagation; undefined for an unknown value. */
export function propagationFlag(name: string): number | undefined {
  return PROPAGATION[name];
}

/**
 * Every option name leopard handles itself (for `features`); others pass to the filesystem as
 * data. The recursive ones and idmap/ridmap need mount_setattr(2), so only when the kernel has it.
 */
export function supportedMountOptions(mountSetattr: boolean): string[] {
  const names = [...Object.keys(FLAGS), ...Object.keys(PROPAGATION)];
  if (mountSetattr) names.push(...Object.keys(RECURSIVE), "idmap", "ridmap");
  return names.filter((o) => !UNSUPPORTED.has(o)).sort();
}

/** Whether an option is one of the recursive ones (applied with mount_setattr). */
export function isRecursiveOption(name: string): boolean {
  return RECURSIVE[name] !== undefined;
}
