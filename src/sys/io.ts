// Synchronous file calls for the hot path of leopard-oci (state, start, kill, delete), made as
// raw syscalls through leopard-sys.node (libc.ts). Loading node:fs costs ~20 ms of CPU per process
// (it pulls in node:stream); loading that module ~1.2 ms. Errors are shaped like Node's
// (code, errno, syscall, path) so callers test `.code === "ENOENT"` as they would with node:fs.
import { errnoName, strerror } from "../util/errno.ts";
import { type Arg, cstr, errno, libc, sys as syscall, sysModuleMissing } from "./libc.ts";

const NR =
  process.arch === "arm64"
    ? { read: 63, write: 64, close: 57, openat: 56, unlinkat: 35, getdents64: 61, faccessat: 48 }
    : { read: 0, write: 1, close: 3, openat: 257, unlinkat: 263, getdents64: 217, faccessat: 269 };

const AT_FDCWD = -100;
const AT_REMOVEDIR = 0x200;
export const O_RDONLY = 0;
export const O_NONBLOCK = 0o4000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_CLOEXEC = 0o2000000;
const EINTR = 4;
const EAGAIN = 11;

/** A failed call, with Node's fields and message shape ("ENOENT: no such file or directory, open 'p'"). */
export class IoError extends Error {
  override name = "IoError";
  readonly code: string;
  constructor(
    readonly syscall: string,
    readonly errno: number,
    readonly path: string,
  ) {
    super(`${errnoName(errno)}: ${strerror(errno)}, ${syscall} '${path}'`);
    this.code = errnoName(errno);
  }
}

function sys(nr: number, ...args: Arg[]): number {
  return Number(syscall(nr, ...args));
}

function fail(syscall: string, path: string): never {
  throw new IoError(syscall, errno(), path);
}

export function open(path: string, flags: number): number {
  for (;;) {
    const fd = sys(NR.openat, AT_FDCWD, cstr(path), flags | O_CLOEXEC);
    if (fd >= 0) return fd;
    if (errno() !== EINTR) fail("open", path);
  }
}

export function close(fd: number): void {
  sys(NR.close, fd);
}

/** Up to buf.length bytes; 0 at end of file. */
export function read(fd: number, buf: Uint8Array, what = `fd ${fd}`): number {
  for (;;) {
    const n = sys(NR.read, fd, buf, buf.length);
    if (n >= 0) return n;
    if (errno() !== EINTR) fail("read", what);
  }
}

/** Writes all of text to fd (a short write or EINTR is retried; EAGAIN waits for the fd). */
export function writeAll(fd: number, text: string | Uint8Array): void {
  const buf = typeof text === "string" ? new TextEncoder().encode(text) : text;
  for (let off = 0; off < buf.length; ) {
    let n: number;
    try {
      n = sys(NR.write, fd, buf.subarray(off), buf.length - off);
    } catch (e) {
      // Without leopard-sys.node (a broken install) nothing could say why a command failed.
      if (!sysModuleMissing(e) || (fd !== 1 && fd !== 2)) throw e;
      const rest = new TextDecoder().decode(buf.subarray(off)).replace(/\n$/, "");
      if (fd === 1) console.log(rest);
      else console.error(rest);
      return;
    }
    if (n >= 0) {
      off += n;
      continue;
    }
    const e = errno();
    if (e === EAGAIN) {
      // A non-blocking pipe that is full: wait until it drains.
      const pfd = new Int32Array([fd, 4 /* POLLOUT */]);
      libc().poll(pfd, 1, -1);
    } else if (e !== EINTR) fail("write", `fd ${fd}`);
  }
}

/** The whole file as UTF-8 (works for /proc and /sys files, whose size reads as 0). */
export function readText(path: string): string {
  const fd = open(path, O_RDONLY);
  try {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const buf = new Uint8Array(total < 4096 ? 4096 : 65536);
      const n = read(fd, buf, path);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
    }
    if (chunks.length === 1) return new TextDecoder().decode(chunks[0]);
    const all = new Uint8Array(total);
    let off = 0;
    for (const c of chunks) {
      all.set(c, off);
      off += c.length;
    }
    return new TextDecoder().decode(all);
  } finally {
    close(fd);
  }
}

/** Whether path exists (following symlinks), as fs.existsSync. */
export function exists(path: string): boolean {
  return sys(NR.faccessat, AT_FDCWD, cstr(path), 0 /* F_OK */) === 0;
}

export function unlink(path: string): void {
  if (sys(NR.unlinkat, AT_FDCWD, cstr(path), 0) < 0) fail("unlink", path);
}

export function rmdir(path: string): void {
  if (sys(NR.unlinkat, AT_FDCWD, cstr(path), AT_REMOVEDIR) < 0) fail("rmdir", path);
}

export interface DirEntry {
  name: string;
  /** d_type: 4 directory, 8 regular file, 10 symlink, 0 unknown. */
  type: number;
}
export const DT_UNKNOWN = 0;
export const DT_DIR = 4;

/** The entries of a directory, without "." and "..". */
export function readDir(path: string): DirEntry[] {
  const fd = open(path, O_RDONLY | O_DIRECTORY);
  const out: DirEntry[] = [];
  try {
    const buf = new Uint8Array(32768);
    const view = new DataView(buf.buffer);
    const dec = new TextDecoder();
    for (;;) {
      const n = sys(NR.getdents64, fd, buf, buf.length);
      if (n < 0) {
        if (errno() === EINTR) continue;
        fail("scandir", path);
      }
      if (n === 0) break;
      // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
      for (let off = 0; off < n; ) {
        const reclen = view.getUint16(off + 16, true);
        const type = buf[off + 18] ?? 0;
        const nameStart = off + 19;
        let end = nameStart;
        while (end < off + reclen && buf[end] !== 0) end++;
        const name = dec.decode(buf.subarray(nameStart, end));
        if (name !== "." && name !== "..") out.push({ name, type });
        off += reclen;
      }
    }
  } finally {
    close(fd);
  }
  return out;
}

/** rm -rf: removes path and everything below it without following symlinks; a missing path is fine. */
const F_SETPIPE_SZ = 1031;

/** A pipe (read end, write end), close-on-exec; with size, room for that many bytes where allowed. */
export function pipe(size?: number): [number, number] {
  const fds = new Int32Array(2);
  if (libc().pipe2(fds, O_CLOEXEC) === -1) throw new IoError("pipe2", errno(), "(pipe)");
  const r = fds[0] as number;
  const w = fds[1] as number;
  if (size !== undefined) libc().fcntl(w, F_SETPIPE_SZ, size); // a smaller pipe still works, only slower
  return [r, w];
}

export function removeTree(path: string): void {
  try {
    unlink(path);
    return;
  } catch (e) {
    const code = (e as IoError).code;
    if (code === "ENOENT") return;
    if (code !== "EISDIR" && code !== "EPERM") throw e;
  }
  let entries: DirEntry[];
  try {
    entries = readDir(path);
  } catch (e) {
    if ((e as IoError).code === "ENOENT") return;
    throw e;
  }
  for (const e of entries) {
    const p = `${path}/${e.name}`;
    if (e.type === DT_DIR || e.type === DT_UNKNOWN) removeTree(p);
    else
      try {
        unlink(p);
      } catch (err) {
        if ((err as IoError).code !== "ENOENT") throw err;
      }
  }
  try {
    rmdir(path);
  } catch (e) {
    if ((e as IoError).code !== "ENOENT") throw e;
  }
}
