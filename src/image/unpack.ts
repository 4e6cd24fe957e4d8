// Layer unpacking: a tar stream (plain, gzip or zstd; xz for imports) into one snapshot
// directory in overlayfs form. node-tar parses; writing is ours, because every entry must land
// inside the target: names with "..", absolute names, writes through a symlink and hardlinks
// that leave the tree are refused with an error naming the entry. The target is a fresh
// directory nobody else writes, so lstat checks on each parent are not racy.
import {
  closeSync,
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
import { Parser, type ReadEntry } from "tar";
import { describe, LeopardError } from "../util/errors.ts";
import { decompress } from "./compression.ts";
import { type Digest, Hasher } from "./digest.ts";
import { chmod, lsetxattr, makedev, mknod, S_IFBLK, S_IFCHR, S_IFIFO } from "./ffi.ts";
import { PaxTracker, paxRecords } from "./pax-track.ts";

export interface UnpackOptions {
  /** Not root: ownership is left to the caller's uid and device nodes are skipped. */
  rootless?: boolean;
  /** Namespace of the overlay xattrs: "trusted" (root) or "user" (userxattr mounts). */
  overlayXattr?: "trusted" | "user";
  /** Called for entries skipped on purpose (devices when rootless, unsupported xattrs). */
  warn?: (message: string) => void;
}

export interface UnpackResult {
  /** sha256 of the uncompressed tar: the layer's DiffID. */
  diffId: Digest;
  /** Uncompressed size in bytes. */
  size: number;
  entries: number;
}

/** A layer whose content is refused; the message names the entry. */
export class LayerError extends LeopardError {
  override name = "LayerError";
  constructor(message: string, cause?: unknown) {
    super("invalid-argument", message, cause === undefined ? {} : { cause });
  }
}

const O_NOFOLLOW = 0o400000;
const O_EXCL_CREATE = 0o1 | 0o100 | 0o200; // O_WRONLY | O_CREAT | O_EXCL
const WHITEOUT = ".wh.";
const OPAQUE = ".wh..wh..opq";

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

class Writer {
  readonly #root: string;
  readonly #opts: UnpackOptions;
  readonly #dirTimes: { path: string; mtime: Date }[] = [];
  readonly #xattrNs: string;
  entries = 0;

  constructor(root: string, opts: UnpackOptions) {
    this.#root = root;
    // Ownership needs root; unprivileged unpacks keep the caller's.
    this.#opts = { ...opts, rootless: opts.rootless ?? process.getuid?.() !== 0 };
    this.#xattrNs = opts.overlayXattr ?? (this.#opts.rootless ? "user" : "trusted");
  }

  /** Directories known to be real directories in the tree (saves an lstat per component). */
  readonly #dirs = new Set<string>();

  /** Creates missing parents as directories; refuses a parent that is a symlink or a file. */
  #parent(name: string, parts: string[]): string {
    let p = this.#root;
    for (let i = 0; i < parts.length - 1; i++) {
      p = `${p}/${parts[i]}`;
      if (this.#dirs.has(p)) continue;
      const st = lstatOrUndefined(p);
      if (st === undefined) mkdirSync(p, 0o755);
      else if (st.isSymbolicLink())
        throw new LayerError(
          `layer entry "${name}" would be written through the symlink "${p.slice(this.#root.length + 1)}"`,
        );
      else if (!st.isDirectory())
        throw new LayerError(
          `layer entry "${name}" has a parent "${p.slice(this.#root.length + 1)}" that is not a directory`,
        );
      this.#dirs.add(p);
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
      for (const d of this.#dirs) if (d === path || d.startsWith(`${path}/`)) this.#dirs.delete(d);
    }
    return false;
  }

  #meta(path: string, e: ReadEntry, xattrs: Map<string, Uint8Array>, isLink: boolean): void {
    if (!this.#opts.rootless) lchownSync(path, e.uid ?? 0, e.gid ?? 0);
    // chmod after chown: chown clears the set-id bits.
    if (!isLink) chmod(path, (e.mode ?? 0o644) & 0o7777);
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
    const mtime = e.mtime ?? new Date(0);
    if (e.type === "Directory" || e.type === "GNUDumpDir") this.#dirTimes.push({ path, mtime });
    else lutimesSync(path, mtime, mtime);
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
      this.#meta(this.#root, e, xattrs, false);
      e.resume();
      return;
    }
    const dir = this.#parent(name, parts);
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
        this.#clear(path, false);
        const fd = openSync(path, O_EXCL_CREATE | O_NOFOLLOW, 0o600);
        this.#openFd = fd;
        e.on("data", (chunk: Buffer) => {
          try {
            writeSync(fd, chunk);
          } catch (err) {
            onError(err);
          }
        });
        e.on("end", () => {
          try {
            this.#openFd = undefined;
            closeSync(fd);
            this.#meta(path, e, xattrs, false);
          } catch (err) {
            onError(err);
          }
        });
        e.resume();
        return;
      }
      case "Directory":
      case "GNUDumpDir":
        if (!this.#clear(path, true)) mkdirSync(path, 0o700);
        this.#dirs.add(path);
        break;
      case "SymbolicLink":
        this.#clear(path, false);
        symlinkSync(e.linkpath ?? "", path);
        this.#meta(path, e, xattrs, true);
        e.resume();
        return;
      case "Link": {
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
        if (t === path) {
          e.resume();
          return;
        }
        this.#clear(path, false);
        linkSync(t, path);
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
        this.#clear(path, false);
        const h = e.header;
        mknod(path, kind | 0o600, kind === S_IFIFO ? 0n : makedev(h.devmaj ?? 0, h.devmin ?? 0));
        break;
      }
      default:
        throw new LayerError(`layer entry "${name}" has the unsupported type "${e.type}"`);
    }
    this.#meta(path, e, xattrs, false);
    e.resume();
  }

  /** The file being written, closed by abort() if the stream stops inside it. */
  #openFd: number | undefined;

  abort(): void {
    if (this.#openFd !== undefined) closeSync(this.#openFd);
    this.#openFd = undefined;
  }

  /** Directory times last: creating children changed them. Deepest first. */
  finish(): void {
    for (const { path, mtime } of this.#dirTimes.reverse()) lutimesSync(path, mtime, mtime);
  }
}

/** The "SCHILY.xattr.*" records of a pax extended header body, values as bytes. */
export function paxXattrs(body: Uint8Array): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const [k, v] of paxRecords(body)) if (k.startsWith("SCHILY.xattr.")) out.set(k.slice(13), v);
  return out;
}

/**
 * Unpacks a layer into dest (an existing, empty directory) and returns its DiffID. On error,
 * dest is left partly written: the caller unpacks into a temporary directory and removes it.
 */
export async function unpackLayer(
  source: AsyncIterable<Uint8Array>,
  dest: string,
  opts: UnpackOptions = {},
): Promise<UnpackResult> {
  const w = new Writer(dest, opts);
  const hasher = new Hasher();
  const parser = new Parser({ strict: true, maxMetaEntrySize: 1 << 20 });
  let failure: unknown;
  const fail = (err: unknown) => {
    failure ??= err;
  };
  let pendingXattrs = new Map<string, Uint8Array>();
  // node-tar decodes meta bodies as UTF-8, which corrupts binary xattrs (file capabilities);
  // the tracker keeps the same bodies as bytes, in the same order.
  const tracker = new PaxTracker();
  parser.on("meta", (decoded: string) => {
    const raw = tracker.ok ? tracker.next() : undefined;
    if (raw === undefined) {
      fail(new LayerError("layer has an extended header that could not be read"));
      return;
    }
    if (raw.type === "x" || raw.type === "X") {
      for (const [k, v] of paxXattrs(raw.body)) pendingXattrs.set(k, v);
    }
    void decoded;
  });
  parser.on("entry", (e: ReadEntry) => {
    const x = pendingXattrs;
    pendingXattrs = new Map();
    if (failure !== undefined) {
      e.resume();
      return;
    }
    try {
      w.entry(e, x, fail);
    } catch (err) {
      fail(err);
      e.resume();
    }
  });
  parser.on("ignoredEntry", (e: ReadEntry) => {
    if (!e.meta) fail(new LayerError(`layer entry "${e.path}" has the unsupported type "${e.type}"`));
  });
  const ended = new Promise<void>((resolve) => {
    parser.on("error", (err: Error) => {
      fail(new LayerError(`layer is not a valid tar archive: ${err.message}`, err));
      resolve();
    });
    parser.on("end", () => resolve());
    parser.on("close", () => resolve());
  });
  for await (const chunk of decompress(source)) {
    hasher.update(chunk);
    if (failure !== undefined) break; // the layer is refused: no need to read the rest
    tracker.feed(chunk);
    if (!parser.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))) {
      await new Promise<void>((resolve) => {
        parser.once("drain", resolve);
        parser.once("error", () => resolve());
      });
    }
  }
  if (failure === undefined) {
    parser.end();
    await ended;
  }
  if (failure !== undefined) {
    w.abort();
    if (failure instanceof LeopardError) throw failure;
    throw new LayerError(`layer could not be unpacked: ${describe(failure)}`, failure);
  }
  w.finish();
  return { diffId: hasher.digest(), size: hasher.size, entries: w.entries };
}
