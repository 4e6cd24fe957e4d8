// The libc calls layer unpacking needs that Bun lacks: mknod and extended attributes on the
// link itself (l*xattr never follow a symlink), through src/sys's system calls (libc.ts).
import { check, cstr, libc } from "../sys/libc.ts";

/** The *at calls' "relative to the cwd" (the paths here are absolute). */
const AT_FDCWD = -100;

export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;

/** glibc's makedev: 12 bits of major and 20 of minor, split across the 64-bit value. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

export function mknod(path: string, mode: number, dev: bigint): void {
  check(libc().mknodat(AT_FDCWD, cstr(path), mode, dev), "mknod", path);
}

/** chmod(2) itself: Bun's fs.chmod drops the set-id and sticky bits. */
export function chmod(path: string, mode: number): void {
  check(libc().fchmodat(AT_FDCWD, cstr(path), mode & 0o7777, 0), "chmod", path);
}

/** fchmod(2) itself, keeping the set-id and sticky bits as chmod above. */
export function fchmod(fd: number, mode: number, path: string): void {
  check(libc().fchmod(fd, mode & 0o7777), "fchmod", path);
}

export function lsetxattr(path: string, name: string, value: Uint8Array): void {
  const v = value.length === 0 ? new Uint8Array(1) : value;
  check(libc().lsetxattr(cstr(path), cstr(name), v, value.length, 0), "lsetxattr", path);
}

/** The value of one attribute, or undefined when the file has none by that name. */
export function lgetxattr(path: string, name: string): Uint8Array | undefined {
  const buf = new Uint8Array(65536);
  const n = Number(libc().lgetxattr(cstr(path), cstr(name), buf, buf.length));
  if (n < 0) return undefined;
  return buf.slice(0, n);
}

export function llistxattr(path: string): string[] {
  const buf = new Uint8Array(65536);
  const n = check(libc().llistxattr(cstr(path), buf, buf.length), "llistxattr", path);
  if (n <= 0) return [];
  return new TextDecoder()
    .decode(buf.subarray(0, n))
    .split("\0")
    .filter((s) => s !== "");
}
