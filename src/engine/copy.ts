// The tree copy of `leopard cp`, between a container's root filesystem and the host, in either
// direction (docker's CVE-2018-15664 class is why it is written out here rather than left to
// cp(1)). The container keeps its root filesystem writable and may be running, so no path inside
// it is ever resolved by name after the first step:
//   - SRC and DEST are opened beneath the container's root with openat2(RESOLVE_IN_ROOT), so
//     "..", absolute links and links to "/" resolve inside it (the host side opens plain paths);
//   - from there the walk holds a file descriptor for every directory it is in and opens each
//     entry with openat(dirfd, name, O_PATH|O_NOFOLLOW): a link is copied as a link and never
//     followed, a directory swapped for a link to "/" mid-copy is read as the link it now is,
//     and a regular file is read through the fd that was checked (reopened via /proc/self/fd,
//     so a device node swapped in is never opened);
//   - every file, link or directory is made under a temporary name with O_EXCL / mkdirat in a
//     directory held by fd, given its owner, mode and times through that fd (or NOFOLLOW), and
//     renamed into place only when complete; a directory whose copy fails is removed again. A
//     link planted in the destination is replaced, never written through.
// GNU cp and node-tar were the alternatives: both walk and create by path name, so both follow
// a link swapped in between two steps. Hard links are copied as separate files; extended
// attributes (file capabilities, ACLs, SELinux labels) are not copied.
import { closeSync, fstatSync, openSync, readSync, writeSync } from "node:fs";
import {
  AT_REMOVEDIR,
  AT_SYMLINK_NOFOLLOW,
  chownAt,
  fchmod,
  fchown,
  futimes,
  mkdirAt,
  mknodAt,
  type Name,
  nameText,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOCTTY,
  O_NOFOLLOW,
  O_NONBLOCK,
  O_PATH,
  O_RDONLY,
  O_WRONLY,
  openAt,
  RENAME_NOREPLACE,
  readDirFd,
  readlinkAt,
  renameAt,
  reopen,
  symlinkAt,
  unlinkAt,
  utimesAt,
} from "../sys/at.ts";
import { SysError } from "../sys/libc.ts";
import { openInRoot } from "../sys/openat2.ts";
import { strerror } from "../util/errno.ts";
import { LeopardError } from "../util/errors.ts";
import {
  type AttrPolicy,
  attrsFor,
  type DestKind,
  fileType,
  placement,
  S_IFDIR,
  S_IFLNK,
  S_IFREG,
  sourceSpec,
  typeName,
} from "./copy-plan.ts";

const ENOENT = 2;
const EEXIST = 17;
const ENOTDIR = 20;
const EISDIR = 21;
const ELOOP = 40;

/** One side of a copy: a path in a container's root filesystem (root set) or on the host. */
export interface Side {
  /** The container's root filesystem: paths resolve beneath it. Undefined: a host path. */
  root?: string;
  path: string;
}

export interface CopyOptions extends AttrPolicy {
  /** -L: follow SRC when it is a symbolic link. */
  followLink: boolean;
  /** A file left out (a device node without -a, a socket), in one sentence. */
  warn: (message: string) => void;
  /** Set by a signal handler: the copy stops at the next file or block, cleaning up. */
  interrupted?: () => string | undefined;
}

interface Stat {
  mode: number;
  uid: number;
  gid: number;
  rdev: bigint;
  atimeNs: bigint;
  mtimeNs: bigint;
}

function statFd(fd: number): Stat {
  const s = fstatSync(fd, { bigint: true });
  return {
    mode: Number(s.mode),
    uid: Number(s.uid),
    gid: Number(s.gid),
    rdev: s.rdev,
    atimeNs: s.atimeNs,
    mtimeNs: s.mtimeNs,
  };
}

function close(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // A close that fails (EIO) leaves nothing to undo: the fd is released either way.
  }
}

function errnoOf(e: unknown): number | undefined {
  if (e instanceof SysError) return e.errno;
  const n = (e as { errno?: number }).errno;
  return typeof n === "number" ? Math.abs(n) : undefined;
}

/** Opens a path on a side: beneath the container's root, or a host path as given. */
function openSide(side: Side, path: string, flags: number): number {
  if (side.root !== undefined) return openInRoot(side.root, path, flags);
  return openSync(path, flags | O_CLOEXEC);
}

const join = (dir: string, name: Name): string => `${dir === "/" ? "" : dir}/${nameText(name)}`;

let counter = 0;
function tempName(): string {
  counter++;
  return `.leopard-cp-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Removes name under dirfd and everything beneath it, fd-relative and without following links; best effort. */
function removeTree(dirfd: number, name: Name): void {
  try {
    unlinkAt(dirfd, name, 0);
    return;
  } catch (e) {
    if (errnoOf(e) !== EISDIR) return;
  }
  let fd: number;
  try {
    fd = openAt(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  } catch {
    // Gone meanwhile, or not a directory we may open: best effort, as documented.
    return;
  }
  try {
    for (const child of readDirFd(fd)) removeTree(fd, child);
  } catch {
    // The directory cannot be listed: its entries stay and the rmdir below fails too (best effort, as documented).
  } finally {
    close(fd);
  }
  try {
    unlinkAt(dirfd, name, AT_REMOVEDIR);
  } catch {
    // Not empty (an entry stayed) or gone already: best effort, as documented.
  }
}

class Copier {
  private sinceYield = 0;

  constructor(private readonly o: CopyOptions) {}

  /** Lets signal handlers run now and then; stops the copy once one asked. */
  private async step(weight: number): Promise<void> {
    this.sinceYield += weight;
    if (this.sinceYield < 64) return;
    this.sinceYield = 0;
    await new Promise((r) => setImmediate(r));
    const why = this.o.interrupted?.();
    if (why !== undefined) throw new LeopardError("system", `the copy was interrupted by ${why}`);
  }

  private fail(e: unknown, from: string, to: string): never {
    if (e instanceof LeopardError) throw e;
    const n = errnoOf(e);
    // A name that turned into a link (ELOOP from O_NOFOLLOW), a non-directory, or something that
    // appeared where the copy was to go: someone changed it while it was being copied.
    const why =
      n === ELOOP || n === ENOTDIR || n === EISDIR || n === EEXIST
        ? "it was replaced while being copied"
        : n === undefined
          ? String((e as Error).message ?? e)
          : strerror(n);
    const call = (e as { syscall?: unknown }).syscall;
    const at =
      typeof call === "string" && n !== ELOOP && n !== ENOTDIR && n !== EISDIR && n !== EEXIST
        ? ` (${call})`
        : "";
    throw new LeopardError("system", `cannot copy "${from}" to "${to}": ${why}${at}`);
  }

  /**
   * Copies the file `fd` (O_PATH, not followed) as `name` in the directory `dirfd`. `from` and `to`
   * are the paths for messages.
   */
  async entry(fd: number, st: Stat, from: string, dirfd: number, name: Name, to: string): Promise<void> {
    const t = fileType(st.mode);
    const attrs = attrsFor(st, this.o);
    if ("skip" in attrs) {
      this.o.warn(`skipped "${from}": ${attrs.skip}`);
      return;
    }
    try {
      if (t === S_IFDIR) await this.dir(fd, st, from, dirfd, name, to, attrs);
      else if (t === S_IFREG) await this.file(fd, st, dirfd, name, to, attrs);
      else {
        const tmp = tempName();
        if (t === S_IFLNK) symlinkAt(readlinkAt(fd, ""), dirfd, tmp);
        else {
          // A device node or FIFO (-a only): made with its exact mode, so no umask in between.
          const old = process.umask(0);
          try {
            mknodAt(dirfd, tmp, t | attrs.perm, st.rdev);
          } finally {
            process.umask(old);
          }
        }
        try {
          chownAt(dirfd, tmp, attrs.uid, attrs.gid, AT_SYMLINK_NOFOLLOW);
          utimesAt(dirfd, tmp, st.atimeNs, st.mtimeNs, AT_SYMLINK_NOFOLLOW);
          place(dirfd, tmp, name, to, st);
        } catch (e) {
          removeTree(dirfd, tmp);
          throw e;
        }
      }
    } catch (e) {
      this.fail(e, from, to);
    }
    await this.step(1);
  }

  private async file(
    fd: number,
    st: Stat,
    dirfd: number,
    name: Name,
    to: string,
    attrs: { uid: number; gid: number; perm: number },
  ): Promise<void> {
    const input = reopen(fd, O_RDONLY | O_NOCTTY | O_NONBLOCK);
    const tmp = tempName();
    let out: number | undefined;
    try {
      out = openAt(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
      const buf = Buffer.allocUnsafe(1 << 20);
      for (;;) {
        const n = readSync(input, buf, 0, buf.length, null);
        if (n === 0) break;
        for (let off = 0; off < n; ) off += writeSync(out, buf, off, n - off);
        await this.step(16);
      }
      // The owner first: chown clears the setuid and setgid bits the mode then sets.
      fchown(out, attrs.uid, attrs.gid);
      fchmod(out, attrs.perm);
      futimes(out, st.atimeNs, st.mtimeNs);
      closeSync(out);
      out = undefined;
      place(dirfd, tmp, name, to, st);
    } catch (e) {
      if (out !== undefined) close(out);
      removeTree(dirfd, tmp);
      throw e;
    } finally {
      close(input);
    }
  }

  private async dir(
    fd: number,
    st: Stat,
    from: string,
    dirfd: number,
    name: Name,
    to: string,
    attrs: { uid: number; gid: number; perm: number },
  ): Promise<void> {
    const src = openAt(fd, ".", O_RDONLY | O_DIRECTORY);
    try {
      const existing = kindAt(dirfd, name);
      if (existing === "dir") {
        // Merged into the directory there; a link swapped in for it fails to open (O_NOFOLLOW).
        const out = openAt(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        try {
          await this.children(src, from, out, to);
          this.finishDir(out, st, attrs);
        } finally {
          close(out);
        }
        return;
      }
      const tmp = tempName();
      mkdirAt(dirfd, tmp, 0o700);
      try {
        const out = openAt(dirfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        try {
          await this.children(src, from, out, to);
          this.finishDir(out, st, attrs);
        } finally {
          close(out);
        }
        // A file or link in its place is replaced (docker's tar extraction does the same).
        if (existing === "file") unlinkAt(dirfd, name, 0);
        renameAt(dirfd, tmp, dirfd, name, RENAME_NOREPLACE);
      } catch (e) {
        removeTree(dirfd, tmp);
        throw e;
      }
    } finally {
      close(src);
    }
  }

  private finishDir(out: number, st: Stat, attrs: { uid: number; gid: number; perm: number }): void {
    fchown(out, attrs.uid, attrs.gid);
    fchmod(out, attrs.perm);
    futimes(out, st.atimeNs, st.mtimeNs);
  }

  /** Every entry of the open directory src into the open directory out. */
  async children(src: number, from: string, out: number, to: string): Promise<void> {
    for (const child of readDirFd(src)) {
      const cfrom = join(from, child);
      const cto = join(to, child);
      let fd: number;
      try {
        fd = openAt(src, child, O_PATH | O_NOFOLLOW);
      } catch (e) {
        // Gone since the directory was read: nothing to copy.
        if (errnoOf(e) === ENOENT) continue;
        this.fail(e, cfrom, cto);
      }
      try {
        await this.entry(fd, statFd(fd), cfrom, out, child, cto);
      } finally {
        close(fd);
      }
    }
  }
}

/** Renames the finished non-directory tmp over name (a file or link there is replaced, a directory is not). */
function place(dirfd: number, tmp: string, name: Name, to: string, st: Stat): void {
  try {
    renameAt(dirfd, tmp, dirfd, name);
  } catch (e) {
    if (errnoOf(e) === EISDIR)
      throw new LeopardError("system", `cannot overwrite directory "${to}" with ${typeName(st.mode)}`);
    throw e;
  }
}

/** What is at name in dirfd, not following a link: a directory, anything else, or nothing. */
function kindAt(dirfd: number, name: Name): DestKind {
  let fd: number;
  try {
    fd = openAt(dirfd, name, O_PATH | O_NOFOLLOW);
  } catch (e) {
    if (errnoOf(e) === ENOENT) return "none";
    throw e;
  }
  try {
    return fileType(statFd(fd).mode) === S_IFDIR ? "dir" : "file";
  } finally {
    close(fd);
  }
}

/**
 * Copies src to dest by docker cp's rules (copy-plan.ts): one side a container's root, the
 * other the host. Throws a LeopardError naming the path on failure; what it had made of a new
 * file or directory is removed again.
 */
export async function copyTree(src: Side, dest: Side, o: CopyOptions): Promise<void> {
  const spec = sourceSpec(src.path, o.followLink);
  const from = src.path;
  let node: number;
  try {
    if (spec.follow) node = openSide(src, src.path, O_PATH);
    else {
      const parent = openSide(src, spec.parent, O_PATH | O_DIRECTORY);
      try {
        node = openAt(parent, spec.base, O_PATH | O_NOFOLLOW);
      } finally {
        close(parent);
      }
    }
  } catch (e) {
    throw new LeopardError("not-found", `no such file or directory "${from}"${why(e)}`);
  }
  try {
    const st = statFd(node);
    const isDir = fileType(st.mode) === S_IFDIR;
    // DEST: followed (inside the container's root) to see whether it is a directory.
    let destFd: number | undefined;
    let destKind: DestKind = "none";
    try {
      destFd = openSide(dest, dest.path, O_PATH);
      destKind = fileType(statFd(destFd).mode) === S_IFDIR ? "dir" : "file";
    } catch (e) {
      const n = errnoOf(e);
      if (n === ENOTDIR && /\/\.?$/.test(dest.path))
        throw new LeopardError("invalid-argument", `"${dest.path}" is not a directory`);
      if (n !== ENOENT && n !== ENOTDIR)
        throw new LeopardError("system", `cannot open "${dest.path}"${why(e)}`);
    }
    try {
      const where = placement({ isDir, spec, name: from }, dest.path, destKind);
      const copier = new Copier(o);
      switch (where.kind) {
        case "error":
          throw new LeopardError("invalid-argument", where.message);
        case "contents": {
          const srcDir = openAt(node, ".", O_RDONLY | O_DIRECTORY);
          try {
            await copier.children(srcDir, from, destFd as number, dest.path);
          } finally {
            close(srcDir);
          }
          return;
        }
        case "into":
          return await top(
            copier,
            node,
            st,
            from,
            destFd as number,
            where.name,
            join(dest.path, where.name),
            o,
          );
        case "as": {
          const parentPath = dest.path.replace(/\/+$/, "").replace(/[^/]*$/, "") || ".";
          let parent: number;
          try {
            parent = openSide(dest, parentPath, O_PATH | O_DIRECTORY);
          } catch (e) {
            throw new LeopardError("not-found", `no such directory "${parentPath}"${why(e)}`);
          }
          try {
            return await top(copier, node, st, from, parent, where.name, dest.path, o);
          } finally {
            close(parent);
          }
        }
      }
    } finally {
      if (destFd !== undefined) close(destFd);
    }
  } finally {
    close(node);
  }
}

/** The top entry: a file left out is an error here (nothing would be copied at all). */
async function top(
  copier: Copier,
  fd: number,
  st: Stat,
  from: string,
  dirfd: number,
  name: string,
  to: string,
  o: CopyOptions,
): Promise<void> {
  const a = attrsFor(st, o);
  if ("skip" in a) throw new LeopardError("invalid-argument", `cannot copy "${from}": ${a.skip}`);
  await copier.entry(fd, st, from, dirfd, name, to);
}

function why(e: unknown): string {
  const n = errnoOf(e);
  return n === undefined || n === ENOENT ? "" : `: ${strerror(n)}`;
}
