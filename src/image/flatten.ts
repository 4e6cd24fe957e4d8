// Applying overlay-form snapshots one on top of the other into a plain directory: the copy
// fallback for root filesystems where overlayfs is unavailable. A 0/0 character device deletes
// what lies below; a directory marked opaque hides everything below it.
import {
  copyFileSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  rmSync,
  type Stats,
  symlinkSync,
} from "node:fs";
import { chmod, lgetxattr, llistxattr, lsetxattr, mknod } from "./ffi.ts";
import { FUSE_OPAQUE_XATTR, isFuseMark } from "./fuse-marks.ts";

function lstatOrUndefined(p: string): Stats | undefined {
  // No exception for a missing path: throwing costs more than the syscall.
  return lstatSync(p, { throwIfNoEntry: false });
}

function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

function isOpaque(path: string, ns: string): boolean {
  // fuse-overlayfs's own mark too (src/image/fuse-marks.ts): an upper directory it wrote.
  for (const name of [`${ns}.overlay.opaque`, FUSE_OPAQUE_XATTR]) {
    const v = lgetxattr(path, name);
    if (v !== undefined && v.length === 1 && v[0] === 0x79) return true;
  }
  return false;
}

export interface FlattenOptions {
  rootless?: boolean;
  overlayXattr?: "trusted" | "user";
}

/** Copies ownership, mode, xattrs (not overlay's) and times from src's stat to dst. */
function copyMeta(src: string, dst: string, st: Stats, rootless: boolean): void {
  if (!rootless) lchownSync(dst, st.uid, st.gid);
  if (!st.isSymbolicLink()) chmod(dst, st.mode & 0o7777);
  let names: string[] = [];
  // A user may set only user.* xattrs, and the kernel allows those on files and directories
  // alone: a rootless copy of a symlink has none to copy (and most of an image are symlinks:
  // busybox's 268 of 287, each llistxattr ~50 µs here).
  if (!(rootless && st.isSymbolicLink())) {
    try {
      names = llistxattr(src);
    } catch {
      names = [];
    }
  }
  for (const n of names) {
    if (n.includes(".overlay.")) continue;
    const v = lgetxattr(src, n);
    if (v === undefined) continue;
    try {
      lsetxattr(dst, n, v);
    } catch {
      // security.* may be refused where the source had it; the file content is what matters.
    }
  }
  lutimesSync(dst, st.atime, st.mtime);
}

/** Applies one snapshot directory onto dest (which holds the layers below it). */
export function applySnapshot(src: string, dest: string, opts: FlattenOptions = {}): void {
  const ns = opts.overlayXattr ?? (opts.rootless ? "user" : "trusted");
  const rootless = opts.rootless === true;
  const links = new Map<string, string>(); // "dev:ino" → first path written in dest
  const dirs: { src: string; dst: string; st: Stats }[] = [];
  const walk = (s: string, d: string): void => {
    for (const name of readdirSync(s)) {
      const sp = `${s}/${name}`;
      const dp = `${d}/${name}`;
      const st = lstatSync(sp);
      if (isFuseMark(name, st)) continue;
      const existing = lstatOrUndefined(dp);
      if (isWhiteout(st)) {
        if (existing !== undefined) rmSync(dp, { recursive: true, force: true });
        continue;
      }
      if (st.isDirectory()) {
        if (existing !== undefined && (!existing.isDirectory() || isOpaque(sp, ns))) {
          rmSync(dp, { recursive: true, force: true });
        }
        if (lstatOrUndefined(dp) === undefined) mkdirSync(dp, 0o700);
        dirs.push({ src: sp, dst: dp, st });
        walk(sp, dp);
        continue;
      }
      if (existing !== undefined) rmSync(dp, { recursive: true, force: true });
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? links.get(key) : undefined;
      if (first !== undefined) {
        linkSync(first, dp);
        continue;
      }
      if (st.isFile()) copyFileSync(sp, dp);
      else if (st.isSymbolicLink()) symlinkSync(readlinkSync(sp), dp);
      else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO())
        mknod(dp, st.mode, BigInt(st.rdev));
      else continue; // sockets are not image content
      if (st.nlink > 1) links.set(key, dp);
      copyMeta(sp, dp, st, rootless);
    }
  };
  walk(src, dest);
  // Directory metadata last, deepest first: writing children changed their times.
  for (const x of dirs.reverse()) copyMeta(x.src, x.dst, x.st, rootless);
  const rootSt = lstatSync(src);
  copyMeta(src, dest, rootSt, rootless);
}
