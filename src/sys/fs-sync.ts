// The synchronous node:fs calls the runtime's create/run/delete path makes, with node:fs's names,
// signatures and errors (an IoError with Node's `code`, `errno`, `syscall`, `path`), made as raw
// system calls through the one bun:ffi binding of libc.ts. Why: loading node:fs costs ~10 ms of a
// ~90 ms `leopard-oci run` (Bun builds it, with node:stream, on first require; measured: a script
// that only requires "fs" runs 9.5 ms longer than an empty one). Only what that path uses is here;
// everything else keeps node:fs. `fs-sync.test.ts` checks each call against node:fs itself.
import {
  close,
  exists,
  IoError,
  O_CLOEXEC,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_RDONLY,
  open,
  read,
  readDir,
  readText,
  removeTree,
  rmdir,
  unlink,
  writeAll,
} from "./io.ts";
import { cstr, errno, libc, sys } from "./libc.ts";

const ARM = process.arch === "arm64";
const NR = ARM
  ? {
      statx: 291,
      fchmodat: 53,
      fsync: 82,
      renameat: 38,
      mkdirat: 34,
      readlinkat: 78,
      write: 64,
      faccessat: 48,
    }
  : {
      statx: 332,
      fchmodat: 268,
      fsync: 74,
      renameat: 264,
      mkdirat: 258,
      readlinkat: 267,
      write: 1,
      faccessat: 269,
    };
const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;
const STATX_BASIC_STATS_AND_BTIME = 0xfff;
const EINTR = 4;

export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_PATH = 0o10000000;
export const constants = {
  O_RDONLY,
  O_WRONLY,
  O_RDWR,
  O_CREAT,
  O_EXCL,
  O_TRUNC,
  O_APPEND,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_CLOEXEC,
  O_PATH,
  F_OK: 0,
  R_OK: 4,
  W_OK: 2,
  X_OK: 1,
} as const;

function fail(syscall: string, path: string): never {
  throw new IoError(syscall, errno(), path);
}

/** Retries EINTR; throws IoError(syscall, errno, path) on any other failure. */
function call(syscall: string, path: string, f: () => number | bigint): number {
  for (;;) {
    const r = Number(f());
    if (r >= 0) return r;
    if (errno() !== EINTR) fail(syscall, path);
  }
}

// Node's flag strings, as fs.openSync reads them.
const FLAGS: Record<string, number> = {
  r: O_RDONLY,
  "r+": O_RDWR,
  w: O_WRONLY | O_CREAT | O_TRUNC,
  wx: O_WRONLY | O_CREAT | O_TRUNC | O_EXCL,
  "w+": O_RDWR | O_CREAT | O_TRUNC,
  a: O_WRONLY | O_CREAT | O_APPEND,
  ax: O_WRONLY | O_CREAT | O_APPEND | O_EXCL,
};

export function openSync(path: string, flags: string | number = "r", mode = 0o666): number {
  const f = typeof flags === "number" ? flags : FLAGS[flags];
  if (f === undefined) throw new TypeError(`openSync: flags "${flags}" are not supported here`);
  const p = cstr(path);
  // io.ts open() has no mode; O_CREAT needs one.
  return call("open", path, () => libc().openat(AT_FDCWD, p, f | O_CLOEXEC, mode));
}

export function closeSync(fd: number): void {
  close(fd);
}

export function existsSync(path: string): boolean {
  return exists(path);
}

/** accessSync(path, mode): throws (EACCES, ENOENT, …) unless the caller may (F_OK, R_OK, W_OK, X_OK). */
export function accessSync(path: string, mode = 0): void {
  const p = cstr(path);
  call("access", path, () => sys(NR.faccessat, AT_FDCWD, p, mode));
}

export function fsyncSync(fd: number): void {
  call("fsync", `fd ${fd}`, () => sys(NR.fsync, fd));
}

export function readFileSync(path: string, encoding: "utf8" | "utf-8"): string;
export function readFileSync(path: string): Buffer;
export function readFileSync(path: string, encoding?: "utf8" | "utf-8"): string | Buffer {
  if (encoding !== undefined) return readText(path);
  const fd = open(path, O_RDONLY);
  try {
    const chunks: Uint8Array[] = [];
    for (;;) {
      const buf = new Uint8Array(65536);
      const n = read(fd, buf, path);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
    }
    return Buffer.concat(chunks);
  } finally {
    close(fd);
  }
}

export function writeFileSync(
  path: string,
  data: string | Uint8Array,
  options?: { mode?: number; flag?: string } | "utf8",
): void {
  const o = typeof options === "object" ? options : {};
  const fd = openSync(path, o.flag ?? "w", o.mode ?? 0o666);
  try {
    writeAll(fd, data);
  } finally {
    close(fd);
  }
}

/** writeSync(fd, data): the whole buffer or string; returns the bytes written. */
export function writeSync(fd: number, data: string | Uint8Array): number {
  const buf = typeof data === "string" ? new TextEncoder().encode(data) : data;
  if (buf.length === 0) return 0;
  return call("write", `fd ${fd}`, () => sys(NR.write, fd, buf, buf.length));
}

/** readSync(fd, buf, offset, length, position): pread when position is a number. */
export function readSync(
  fd: number,
  buf: Uint8Array,
  offset = 0,
  length = buf.length - offset,
  position: number | null = null,
): number {
  if (length === 0) return 0;
  const at = buf.subarray(offset, offset + length);
  if (position === null) return read(fd, at);
  const PREAD = ARM ? 67 : 17;
  return call("read", `fd ${fd}`, () => sys(PREAD, fd, at, at.length, position));
}

export function unlinkSync(path: string): void {
  unlink(path);
}

export function rmdirSync(path: string): void {
  rmdir(path);
}

/** rmSync: `recursive` removes a tree (never following symlinks); `force` ignores a missing path. */
export function rmSync(path: string, opts: { recursive?: boolean; force?: boolean } = {}): void {
  if (opts.recursive) {
    if (!opts.force && !exists(path)) fail("rm", path);
    removeTree(path);
    return;
  }
  try {
    unlink(path);
  } catch (e) {
    if (opts.force && (e as IoError).code === "ENOENT") return;
    throw e;
  }
}

export function renameSync(from: string, to: string): void {
  const a = cstr(from);
  const b = cstr(to);
  call("rename", from, () => sys(NR.renameat, AT_FDCWD, a, AT_FDCWD, b));
}

export function chmodSync(path: string, mode: number): void {
  const p = cstr(path);
  call("chmod", path, () => sys(NR.fchmodat, AT_FDCWD, p, mode));
}

/** mkdirSync: `recursive` makes the missing parents and returns the first directory made. */
export function mkdirSync(
  path: string,
  opts: { recursive?: boolean; mode?: number } = {},
): string | undefined {
  const mode = opts.mode ?? 0o777;
  const make = (p: string): boolean => {
    const c = cstr(p);
    for (;;) {
      if (Number(sys(NR.mkdirat, AT_FDCWD, c, mode)) === 0) return true;
      const e = errno();
      if (e === EINTR) continue;
      return e === 17 /* EEXIST */ && opts.recursive === true && isDir(p) ? false : fail("mkdir", p);
    }
  };
  if (!opts.recursive) {
    make(path);
    return undefined;
  }
  const parts = path.split("/");
  let first: string | undefined;
  for (let i = 1; i <= parts.length; i++) {
    const p = parts.slice(0, i).join("/");
    if (p === "" || exists(p)) continue;
    if (make(p)) first ??= p;
  }
  return first;
}

function isDir(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
}

export function readdirSync(path: string): string[] {
  return readDir(path).map((e) => e.name);
}

export function readlinkSync(path: string): string {
  const p = cstr(path);
  const buf = new Uint8Array(4096);
  const n = call("readlink", path, () => libc().readlinkat(AT_FDCWD, p, buf, buf.length));
  return new TextDecoder().decode(buf.subarray(0, n));
}

/** realpathSync: the path the kernel resolves (through an O_PATH fd), as realpath(3). */
export function realpathSync(path: string): string {
  const fd = call("realpath", path, () => libc().openat(AT_FDCWD, cstr(path), O_PATH | O_CLOEXEC, 0));
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } finally {
    close(fd);
  }
}

export function copyFileSync(from: string, to: string): void {
  writeFileSync(to, readFileSync(from));
}

const S_IFMT = 0o170000;

/** The fields of fs.Stats this package reads, from statx(2). */
export class Stats {
  constructor(
    readonly dev: number,
    readonly ino: number,
    readonly mode: number,
    readonly nlink: number,
    readonly uid: number,
    readonly gid: number,
    readonly rdev: number,
    readonly size: number,
    readonly blksize: number,
    readonly blocks: number,
    readonly atimeMs: number,
    readonly mtimeMs: number,
    readonly ctimeMs: number,
    readonly birthtimeMs: number,
    /** mtime in nanoseconds (node: statSync(p, { bigint: true }).mtimeNs). */
    readonly mtimeNs: bigint,
  ) {}
  get mtime(): Date {
    return new Date(this.mtimeMs);
  }
  isFile(): boolean {
    return (this.mode & S_IFMT) === 0o100000;
  }
  isDirectory(): boolean {
    return (this.mode & S_IFMT) === 0o040000;
  }
  isSymbolicLink(): boolean {
    return (this.mode & S_IFMT) === 0o120000;
  }
  isFIFO(): boolean {
    return (this.mode & S_IFMT) === 0o010000;
  }
  isSocket(): boolean {
    return (this.mode & S_IFMT) === 0o140000;
  }
  isCharacterDevice(): boolean {
    return (this.mode & S_IFMT) === 0o020000;
  }
  isBlockDevice(): boolean {
    return (this.mode & S_IFMT) === 0o060000;
  }
}

/** glibc's makedev, as Node reports dev and rdev. */
function makedev(major: number, minor: number): number {
  return (
    Number((BigInt(major & 0xfffff000) << 32n) | (BigInt(minor & 0xffffff00) << 12n)) +
    ((major & 0xfff) << 8) +
    (minor & 0xff)
  );
}

function statx(dirFd: number, path: string, flags: number, what: string): Stats | undefined {
  // struct statx is the same on every architecture (include/uapi/linux/stat.h).
  const buf = new Uint8Array(256);
  const v = new DataView(buf.buffer);
  const p = cstr(path);
  for (;;) {
    if (Number(sys(NR.statx, dirFd, p, flags, STATX_BASIC_STATS_AND_BTIME, buf)) === 0) break;
    const e = errno();
    if (e === EINTR) continue;
    if ((e === 2 /* ENOENT */ || e === 20) /* ENOTDIR */ && what === "") return undefined;
    throw new IoError(what || "stat", e, path);
  }
  const u64 = (off: number) => Number(v.getBigUint64(off, true));
  const ms = (off: number) => Number(v.getBigInt64(off, true)) * 1000 + v.getUint32(off + 8, true) / 1e6;
  return new Stats(
    makedev(v.getUint32(136, true), v.getUint32(140, true)),
    u64(32),
    v.getUint16(28, true),
    v.getUint32(16, true),
    v.getUint32(20, true),
    v.getUint32(24, true),
    makedev(v.getUint32(128, true), v.getUint32(132, true)),
    u64(40),
    v.getUint32(4, true),
    u64(48),
    ms(64),
    ms(112),
    ms(96),
    ms(80),
    v.getBigInt64(112, true) * 1_000_000_000n + BigInt(v.getUint32(120, true)),
  );
}

export function statSync(path: string): Stats;
export function statSync(path: string, opts: { throwIfNoEntry: false }): Stats | undefined;
export function statSync(path: string, opts?: { throwIfNoEntry: false }): Stats | undefined {
  return statx(AT_FDCWD, path, 0, opts ? "" : "stat");
}

export function lstatSync(path: string): Stats;
export function lstatSync(path: string, opts: { throwIfNoEntry: false }): Stats | undefined;
export function lstatSync(path: string, opts?: { throwIfNoEntry: false }): Stats | undefined {
  return statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, opts ? "" : "lstat");
}

export function fstatSync(fd: number): Stats {
  return statx(fd, "", AT_EMPTY_PATH, "fstat") as Stats;
}
