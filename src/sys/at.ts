// The *at(2) calls: a file named by one path component relative to a directory fd, so a walk
// that holds the fd of each directory it is in never resolves a path through a name someone
// else can swap for a symlink (`leopard cp`, src/engine/copy.ts). Names are single components —
// a name holding "/" is refused here, before the kernel sees it — and bytes or strings: a
// file name need not be UTF-8, so what readDirFd and readlinkAt return is bytes and passes
// back unchanged. Node has none of these; bun:ffi through libc.ts.
import { openSync } from "./fs-sync.ts";
import { check, errno, libc, SysError } from "./libc.ts";

const EINTR = 4;
const EAGAIN = 11;

export const O_RDONLY = 0;
export const O_WRONLY = 0o1;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_NONBLOCK = 0o4000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_EMPTY_PATH = 0x1000;
export const RENAME_NOREPLACE = 1;
const EINVAL = 22;
const ERANGE = 34;

/** A file name: one path component, as bytes or a string. */
export type Name = string | Uint8Array;

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A name for messages (bytes that are not UTF-8 show as U+FFFD). */
export function nameText(n: Name): string {
  return typeof n === "string" ? n : dec.decode(n);
}

/** The name NUL-terminated for C; a name with "/" in it is refused (EINVAL), "" allowed for *_EMPTY_PATH. */
function component(n: Name, syscall: string): Uint8Array {
  const b = typeof n === "string" ? enc.encode(n) : n;
  if (b.includes(0x2f) || b.includes(0)) throw new SysError(syscall, EINVAL, nameText(n));
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/**
 * openat(dirfd, name, flags | O_CLOEXEC, mode): the new fd (the caller closes it). EAGAIN and
 * EINTR are tried again (EAGAIN up to 16 times): an open in a container's overlay root answered
 * EAGAIN about once in a hundred `leopard cp` calls of test/security/CVE-2018-15664.test.ts on a
 * busy machine (the cause is not pinned down; EAGAIN asks for another try).
 */
export function openAt(dirfd: number, name: Name, flags: number, mode = 0): number {
  const c = component(name, "openat");
  for (let tries = 0; ; tries++) {
    const fd = Number(libc().openat(dirfd, c, flags | O_CLOEXEC, mode));
    if (fd >= 0) return fd;
    const e = errno();
    if (e === EINTR || (e === EAGAIN && tries < 16)) continue;
    throw new SysError("openat", e, nameText(name));
  }
}

export function mkdirAt(dirfd: number, name: Name, mode: number): void {
  check(libc().mkdirat(dirfd, component(name, "mkdirat"), mode), "mkdirat", nameText(name));
}

/** symlinkat(target, dirfd, name): target is the link's text, any path. */
export function symlinkAt(target: Uint8Array, dirfd: number, name: Name): void {
  if (target.includes(0)) throw new SysError("symlinkat", EINVAL, nameText(name));
  const t = new Uint8Array(target.length + 1);
  t.set(target);
  check(libc().symlinkat(t, dirfd, component(name, "symlinkat")), "symlinkat", nameText(name));
}

/** The link's text, as bytes; name "" reads the link an O_PATH|O_NOFOLLOW fd holds. */
export function readlinkAt(dirfd: number, name: Name): Uint8Array {
  const n = component(name, "readlinkat");
  for (let size = 4096; ; size *= 2) {
    const buf = new Uint8Array(size);
    const len = Number(check(libc().readlinkat(dirfd, n, buf, BigInt(size)), "readlinkat", nameText(name)));
    if (len < size) return buf.slice(0, len);
    if (size >= 1 << 20) throw new SysError("readlinkat", ERANGE, nameText(name));
  }
}

/** mknodat: a device node (type and permission bits in mode, rdev its number) or a FIFO. */
export function mknodAt(dirfd: number, name: Name, mode: number, rdev: bigint): void {
  check(libc().mknodat(dirfd, component(name, "mknodat"), mode, rdev), "mknodat", nameText(name));
}

/** fchownat; with AT_SYMLINK_NOFOLLOW a link's own owner, with AT_EMPTY_PATH and "" the fd's file. */
export function chownAt(dirfd: number, name: Name, uid: number, gid: number, flags: number): void {
  check(libc().fchownat(dirfd, component(name, "fchownat"), uid, gid, flags), "fchownat", nameText(name));
}

function timespecs(atimeNs: bigint, mtimeNs: bigint): BigInt64Array {
  const s = 1_000_000_000n;
  return new BigInt64Array([atimeNs / s, atimeNs % s, mtimeNs / s, mtimeNs % s]);
}

/** utimensat(dirfd, name, [atime, mtime], flags), times in nanoseconds since the epoch. */
export function utimesAt(dirfd: number, name: Name, atimeNs: bigint, mtimeNs: bigint, flags: number): void {
  const ts = timespecs(atimeNs, mtimeNs);
  check(libc().utimensat(dirfd, component(name, "utimensat"), ts, flags), "utimensat", nameText(name));
}

/** fchmod(fd, mode) with every mode bit (Bun's fchmodSync drops setuid, setgid and sticky). */
export function fchmod(fd: number, mode: number): void {
  check(libc().fchmod(fd, mode), "fchmod");
}

export function fchown(fd: number, uid: number, gid: number): void {
  check(libc().fchown(fd, uid, gid), "fchown");
}

/** futimens(fd, [atime, mtime]), times in nanoseconds since the epoch. */
export function futimes(fd: number, atimeNs: bigint, mtimeNs: bigint): void {
  check(libc().futimens(fd, timespecs(atimeNs, mtimeNs)), "futimens");
}

/** renameat2(olddir, old, newdir, new, flags): RENAME_NOREPLACE fails with EEXIST rather than replace. */
export function renameAt(oldDir: number, oldName: Name, newDir: number, newName: Name, flags = 0): void {
  check(
    libc().renameat2(oldDir, component(oldName, "renameat2"), newDir, component(newName, "renameat2"), flags),
    "renameat2",
    nameText(newName),
  );
}

/** unlinkat; AT_REMOVEDIR for an (empty) directory. */
export function unlinkAt(dirfd: number, name: Name, flags: number): void {
  check(libc().unlinkat(dirfd, component(name, "unlinkat"), flags), "unlinkat", nameText(name));
}

/** The names in an open directory (O_RDONLY|O_DIRECTORY), as bytes, without "." and "..". */
export function readDirFd(fd: number): Uint8Array[] {
  const names: Uint8Array[] = [];
  const buf = new Uint8Array(64 * 1024);
  const view = new DataView(buf.buffer);
  for (;;) {
    const n = Number(check(libc().getdents64(fd, buf, BigInt(buf.length)), "getdents64"));
    if (n === 0) return names;
    // struct linux_dirent64: d_ino u64, d_off s64, d_reclen u16, d_type u8, d_name NUL-terminated.
    for (let off = 0; off < n; ) {
      const reclen = view.getUint16(off + 16, true);
      const start = off + 19;
      const end = buf.indexOf(0, start);
      const name = buf.slice(start, end < 0 || end > off + reclen ? off + reclen : end);
      if (
        !(name.length === 1 && name[0] === 0x2e) &&
        !(name.length === 2 && name[0] === 0x2e && name[1] === 0x2e)
      )
        names.push(name);
      off += reclen;
    }
  }
}

/**
 * Opens the very file an fd (an O_PATH one) holds, with new flags, through /proc/self/fd/N: no
 * name is looked up again, so nothing swapped in since can be opened instead (a device node
 * where a regular file was).
 */
export function reopen(fd: number, flags: number): number {
  return openSync(`/proc/self/fd/${fd}`, flags | O_CLOEXEC);
}
