// Writing tar entries into one snapshot directory in overlayfs form. Every entry must land
// inside the target: names with "..", absolute names, writes through a symlink and hardlinks
// that leave the tree are refused with an error naming the entry. The target is a fresh
// directory nobody else writes, so checks on each parent are not racy.
//
// Speed: parents verified once are remembered; a new name is created with O_EXCL (or mkdir,
// symlink) first and cleared only if it was already there, so the common case needs no lstat;
// a regular file's owner, mode and times are set through its descriptor, and only when the
// creation did not already give the right ones.
import {
  closeSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  rmSync,
  type Stats,
  symlinkSync,
  writeSync,
} from "node:fs";
import type { ReadEntry } from "tar";
import { SysError } from "../sys/libc.ts";
import { currentUmask } from "../sys/umask.ts";
import { describe, LeopardError } from "../util/errors.ts";
import { chmod, fchmod, lgetxattr, lsetxattr, makedev, mknod, S_IFBLK, S_IFCHR, S_IFIFO } from "./ffi.ts";

export interface UnpackOptions {
  /** Not root: ownership is left to the caller's uid and device nodes are skipped. */
  rootless?: boolean;
  /** Namespace of the overlay xattrs: "trusted" (root) or "user" (userxattr mounts). */
  overlayXattr?: "trusted" | "user";
  /** Called for entries skipped on purpose (devices when rootless, unsupported xattrs). */
  warn?: (message: string) => void;
}

/** A layer whose content is refused; the message names the entry. */
export class LayerError extends LeopardError {
  override name = "LayerError";
  constructor(message: string, cause?: unknown) {
    super("invalid-argument", message, cause === undefined ? {} : { cause });
  }
}

const O_NOFOLLOW = 0o400000;
const O_CLOEXEC = 0o2000000;
const O_EXCL_CREATE = 0o1 | 0o100 | 0o200 | O_NOFOLLOW | O_CLOEXEC; // O_WRONLY|O_CREAT|O_EXCL
const WHITEOUT = ".wh.";
const OPAQUE = ".wh..wh..opq";
/** A directory's group when it cannot be known without a stat. */
const UNKNOWN_GID = -1;

/** Splits an entry name into safe components, refusing absolute names and "..". */
export function entryComponents(name: string, what = "layer entry"): string[] {
  if (name.startsWith("/")) throw new LayerError(`${what} "${name}" has an absolute path`);
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new LayerError(`${what} "${name}" contains ".."`);
  return parts;
}

function lstatOrUndefined(p: string): Stats | undefined {
  // No exception for a missing path: throwing costs more than the syscall.
  return lstatSync(p, { throwIfNoEntry: false });
}

const EEXIST = 17;

function exists(err: unknown): boolean {
  return err instanceof SysError ? err.errno === EEXIST : (err as NodeJS.ErrnoException).code === "EEXIST";
}

export class Writer {
  readonly #root: string;
  readonly #opts: UnpackOptions;
  readonly #dirTimes: { path: string; mtime: Date }[] = [];
  readonly #xattrNs: string;
  readonly #uid = process.geteuid?.() ?? 0;
  readonly #gid = process.getegid?.() ?? 0;
  // Not process.umask(): it sets the umask twice, and these writers run in several threads at once.
  readonly #umask = currentUmask();
  /** The permission bits asked for at creation are the ones the file gets (no default ACL). */
  readonly #plainModes: boolean;
  /** Directories known to be real directories in the tree, with their group (saves an lstat each). */
  readonly #dirs = new Map<string, number>();
  /** The file being written, closed by abort() if the stream stops inside it. */
  #openFd: number | undefined;
  entries = 0;

  constructor(root: string, opts: UnpackOptions) {
    this.#root = root;
    // Ownership needs root; unprivileged unpacks keep the caller's.
    this.#opts = { ...opts, rootless: opts.rootless ?? process.getuid?.() !== 0 };
    this.#xattrNs = opts.overlayXattr ?? (this.#opts.rootless ? "user" : "trusted");
    const st = lstatSync(root);
    this.#dirs.set(root, st.gid);
    this.#plainModes = lgetxattr(root, "system.posix_acl_default") === undefined;
  }

  /** Whether a node created now in a directory of group parentGid needs a chown to uid:gid. */
  #needsChown(uid: number, gid: number, parentGid: number): boolean {
    if (this.#opts.rootless) return false;
    // A new node gets our uid, and our gid or its directory's (setgid or grpid mounts).
    return uid !== this.#uid || gid !== this.#gid || parentGid !== this.#gid;
  }

  /** Whether creating with mode & 0o777 leaves other bits than mode (umask, set-id bits, ACL). */
  #needsChmod(mode: number): boolean {
    return !this.#plainModes || (mode & 0o7000) !== 0 || (mode & this.#umask) !== 0;
  }

  /** Creates missing parents as directories; refuses a parent that is a symlink or a file. */
  #parent(name: string, parts: string[]): string {
    let p = this.#root;
    let gid = this.#dirs.get(p) ?? UNKNOWN_GID;
    for (let i = 0; i < parts.length - 1; i++) {
      const up = gid;
      p = `${p}/${parts[i]}`;
      const known = this.#dirs.get(p);
      if (known !== undefined) {
        gid = known;
        continue;
      }
      try {
        mkdirSync(p, 0o755);
        gid = up === this.#gid ? this.#gid : UNKNOWN_GID;
      } catch (err) {
        if (!exists(err)) throw err;
        const st = lstatSync(p);
        if (st.isSymbolicLink())
          throw new LayerError(
            `layer entry "${name}" would be written through the symlink "${p.slice(this.#root.length + 1)}"`,
          );
        if (!st.isDirectory())
          throw new LayerError(
            `layer entry "${name}" has a parent "${p.slice(this.#root.length + 1)}" that is not a directory`,
          );
        gid = st.gid;
      }
      this.#dirs.set(p, gid);
    }
    return p;
  }

  /** Clears the final path unless it is a directory and a directory is wanted. */
  #clear(path: string, keepDir: boolean): boolean {
    const st = lstatOrUndefined(path);
    if (st === undefined) return false;
    if (keepDir && st.isDirectory()) return true;
    rmSync(path, { recursive: true, force: true });
    if (st.isDirectory()) {
      // Whatever was known under it is gone.
      for (const d of this.#dirs.keys()) if (d === path || d.startsWith(`${path}/`)) this.#dirs.delete(d);
    }
    return false;
  }

  /** Runs create(); if the name is taken, clears it and runs create() again. */
  #create<T>(path: string, create: () => T): T {
    try {
      return create();
    } catch (err) {
      if (!exists(err)) throw err;
    }
    this.#clear(path, false);
    return create();
  }

  #xattrs(path: string, e: ReadEntry, xattrs: Map<string, Uint8Array>): void {
    for (const [k, v] of xattrs) {
      if (k.startsWith("user.") || k === "security.capability") {
        try {
          lsetxattr(path, k, v);
        } catch (err) {
          this.#opts.warn?.(`layer entry "${e.path}": xattr "${k}" not set: ${describe(err)}`);
        }
      } else {
        this.#opts.warn?.(`layer entry "${e.path}": xattr "${k}" ignored`);
      }
    }
  }

  /** Owner, mode and xattrs by path (directories, links, devices); times too unless a directory. */
  #meta(
    path: string,
    e: ReadEntry,
    xattrs: Map<string, Uint8Array>,
    isLink: boolean,
    parentGid: number,
  ): void {
    const uid = e.uid ?? 0;
    const gid = e.gid ?? 0;
    if (this.#needsChown(uid, gid, parentGid)) lchownSync(path, uid, gid);
    // chmod after chown: chown clears the set-id bits.
    if (!isLink) chmod(path, (e.mode ?? 0o644) & 0o7777);
    this.#xattrs(path, e, xattrs);
    const mtime = e.mtime ?? new Date(0);
    if (e.type === "Directory" || e.type === "GNUDumpDir") this.#dirTimes.push({ path, mtime });
    else lutimesSync(path, mtime, mtime);
  }

  /** A regular file's owner, mode, xattrs and times, through its descriptor where it can. */
  #fileMeta(
    fd: number,
    path: string,
    e: ReadEntry,
    xattrs: Map<string, Uint8Array>,
    parentGid: number,
  ): void {
    const uid = e.uid ?? 0;
    const gid = e.gid ?? 0;
    const mode = (e.mode ?? 0o644) & 0o7777;
    if (this.#needsChown(uid, gid, parentGid)) fchownSync(fd, uid, gid);
    // After chown, which clears the set-id bits; after the data, as are the xattrs, because a
    // write drops security.capability.
    if (this.#needsChmod(mode)) fchmod(fd, mode, path);
    if (xattrs.size > 0) this.#xattrs(path, e, xattrs);
    const mtime = e.mtime ?? new Date(0);
    futimesSync(fd, mtime, mtime);
  }

  /** Handles one entry; a regular file's data is written as it arrives. */
  entry(e: ReadEntry, xattrs: Map<string, Uint8Array>, onError: (err: unknown) => void): void {
    this.entries++;
    const name = e.path;
    const parts = entryComponents(name);
    const base = parts[parts.length - 1];
    if (base === undefined) {
      // "./" itself: only a directory may describe the root.
      if (e.type !== "Directory")
        throw new LayerError(`layer entry "${name}" replaces the root with a ${e.type}`);
      this.#meta(this.#root, e, xattrs, false, UNKNOWN_GID);
      // Its group now (when root chowned it; without root the groups are never used).
      this.#dirs.set(this.#root, e.gid ?? 0);
      e.resume();
      return;
    }
    const dir = this.#parent(name, parts);
    const parentGid = this.#dirs.get(dir) ?? UNKNOWN_GID;
    if (base === OPAQUE) {
      lsetxattr(dir, `${this.#xattrNs}.overlay.opaque`, new TextEncoder().encode("y"));
      e.resume();
      return;
    }
    if (base.startsWith(WHITEOUT)) {
      const hidden = base.slice(WHITEOUT.length);
      if (hidden.startsWith(WHITEOUT) || hidden === "" || hidden === "." || hidden === "..") {
        // aufs bookkeeping (.wh..wh.plnk and friends): meaningless outside aufs.
        e.resume();
        return;
      }
      const target = `${dir}/${hidden}`;
      this.#clear(target, false);
      mknod(target, S_IFCHR | 0o000, 0n);
      e.resume();
      return;
    }
    const path = `${dir}/${base}`;
    switch (e.type) {
      case "File":
      case "OldFile":
      case "ContiguousFile": {
        const fd = this.#create(path, () => openSync(path, O_EXCL_CREATE, (e.mode ?? 0o644) & 0o777));
        this.#openFd = fd;
        e.on("data", (chunk: Buffer) => {
          try {
            let off = 0;
            while (off < chunk.length) off += writeSync(fd, chunk, off);
          } catch (err) {
            onError(err);
          }
        });
        e.on("end", () => {
          this.#openFd = undefined;
          try {
            this.#fileMeta(fd, path, e, xattrs, parentGid);
          } catch (err) {
            onError(err);
          } finally {
            closeSync(fd);
          }
        });
        e.resume();
        return;
      }
      case "Directory":
      case "GNUDumpDir": {
        try {
          mkdirSync(path, 0o700);
        } catch (err) {
          if (!exists(err)) throw err;
          if (!this.#clear(path, true)) mkdirSync(path, 0o700);
        }
        this.#meta(path, e, xattrs, false, UNKNOWN_GID);
        this.#dirs.set(path, e.gid ?? 0);
        e.resume();
        return;
      }
      case "SymbolicLink":
        this.#create(path, () => symlinkSync(e.linkpath ?? "", path));
        this.#meta(path, e, xattrs, true, parentGid);
        e.resume();
        return;
      case "Link": {
        const t = this.#linkTarget(e);
        if (t === path) {
          e.resume();
          return;
        }
        this.#create(path, () => linkSync(t, path));
        e.resume();
        return;
      }
      case "CharacterDevice":
      case "BlockDevice":
      case "FIFO": {
        const kind = e.type === "FIFO" ? S_IFIFO : e.type === "BlockDevice" ? S_IFBLK : S_IFCHR;
        if (this.#opts.rootless && kind !== S_IFIFO) {
          this.#opts.warn?.(`layer entry "${name}": device node skipped (not root)`);
          e.resume();
          return;
        }
        const h = e.header;
        const dev = kind === S_IFIFO ? 0n : makedev(h.devmaj ?? 0, h.devmin ?? 0);
        this.#create(path, () => mknod(path, kind | 0o600, dev));
        this.#meta(path, e, xattrs, false, parentGid);
        e.resume();
        return;
      }
      default:
        throw new LayerError(`layer entry "${name}" has the unsupported type "${e.type}"`);
    }
  }

  /** A hardlink's target: an existing non-directory inside the tree, reached through directories. */
  #linkTarget(e: ReadEntry): string {
    const name = e.path;
    const tparts = entryComponents(e.linkpath ?? "", `hardlink target of layer entry "${name}"`);
    let t = this.#root;
    for (const [i, c] of tparts.entries()) {
      t = `${t}/${c}`;
      const st = lstatOrUndefined(t);
      if (st === undefined)
        throw new LayerError(
          `layer entry "${name}" is a hardlink to "${e.linkpath}", which does not exist in the layer`,
        );
      if (i < tparts.length - 1 && !st.isDirectory())
        throw new LayerError(`layer entry "${name}" is a hardlink through the non-directory "${c}"`);
      if (i === tparts.length - 1 && st.isDirectory())
        throw new LayerError(`layer entry "${name}" is a hardlink to the directory "${e.linkpath}"`);
    }
    if (tparts.length === 0) throw new LayerError(`layer entry "${name}" is a hardlink to the root`);
    return t;
  }

  abort(): void {
    if (this.#openFd !== undefined) closeSync(this.#openFd);
    this.#openFd = undefined;
  }

  /** Directory times last: creating children changed them. Deepest first. */
  finish(): void {
    for (const { path, mtime } of this.#dirTimes.reverse()) lutimesSync(path, mtime, mtime);
  }
}
