// A directory in overlayfs form (an overlay's upper directory, or a snapshot) → an OCI layer:
// a whiteout (a 0/0 character device) becomes a ".wh.NAME" entry, an opaque directory (the
// overlay's opaque xattr "y") gets a ".wh..wh..opq" entry, hard links within the tree stay
// links, security.capability is kept; overlay's own xattrs are not. The tar is written in name
// order, gzip-compressed into the store; its DiffID is hashed on the way.
import { lstatSync, readdirSync, readlinkSync } from "node:fs";
import { Readable } from "node:stream";
import { createGzip } from "node:zlib";
import type { NewLayer } from "./commit.ts";
import { Hasher } from "./digest.ts";
import { lgetxattr } from "./ffi.ts";
import { FUSE_OPAQUE_XATTR, isFuseMark } from "./fuse-marks.ts";
import { MT } from "./oci.ts";
import type { Store } from "./store.ts";
import { type TarEntry, tarStream } from "./tar-write.ts";

export interface DirLayerOptions {
  /** Namespace of the overlay xattrs in `dir`: "trusted" (root) or "user" (userxattr). */
  overlayXattr?: "trusted" | "user";
  /** Paths (relative, no leading "/") left out of the layer, with everything beneath them. */
  exclude?: ReadonlySet<string>;
  /**
   * Owners as the container saw them, from the host's (a rootless container's upper directory
   * holds the user's uid for root and subordinate ids for the rest); as found when absent.
   */
  owner?: (uid: number, gid: number) => { uid: number; gid: number };
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

function major(rdev: number): number {
  return ((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
}
function minor(rdev: number): number {
  return (rdev & 0xff) | ((rdev >> 12) & ~0xff);
}

/** The tar entries of `dir` in OCI form, parents before children, names sorted. */
export function* dirEntries(dir: string, opts: DirLayerOptions = {}): Generator<TarEntry> {
  const ns = opts.overlayXattr ?? "trusted";
  const links = new Map<string, string>();
  function* walk(rel: string): Generator<TarEntry> {
    const names = readdirSync(rel === "" ? dir : `${dir}/${rel}`).sort();
    for (const name of names) {
      const path = rel === "" ? name : `${rel}/${name}`;
      if (opts.exclude?.has(path)) continue;
      const full = `${dir}/${path}`;
      const st = lstatSync(full);
      if (isFuseMark(name, st)) continue; // the directory's opaque mark says it (below)
      const type = st.mode & S_IFMT;
      const o = opts.owner?.(st.uid, st.gid) ?? st;
      const base = { mode: st.mode & 0o7777, uid: o.uid, gid: o.gid, mtime: Math.floor(st.mtimeMs / 1000) };
      if (type === S_IFCHR && st.rdev === 0) {
        yield {
          name: rel === "" ? `.wh.${name}` : `${rel}/.wh.${name}`,
          type: "file",
          mode: 0,
          data: new Uint8Array(0),
        };
        continue;
      }
      switch (type) {
        case S_IFDIR: {
          yield { ...base, name: path, type: "dir" };
          const opaque = [`${ns}.overlay.opaque`, FUSE_OPAQUE_XATTR].some((x) => {
            const v = lgetxattr(full, x);
            return v !== undefined && new TextDecoder().decode(v) === "y";
          });
          if (opaque) yield { name: `${path}/.wh..wh..opq`, type: "file", mode: 0, data: new Uint8Array(0) };
          yield* walk(path);
          break;
        }
        case S_IFREG: {
          if (st.nlink > 1) {
            const key = `${st.dev}:${st.ino}`;
            const first = links.get(key);
            if (first !== undefined) {
              yield { ...base, name: path, type: "link", linkname: first };
              break;
            }
            links.set(key, path);
          }
          const cap = lgetxattr(full, "security.capability");
          yield {
            ...base,
            name: path,
            type: "file",
            data: { path: full, size: st.size },
            ...(cap === undefined ? {} : { xattrs: { "security.capability": cap } }),
          };
          break;
        }
        case S_IFLNK:
          yield { ...base, name: path, type: "symlink", linkname: readlinkSync(full) };
          break;
        case S_IFCHR:
        case S_IFBLK:
          yield {
            ...base,
            name: path,
            type: type === S_IFCHR ? "char" : "block",
            devmajor: major(st.rdev),
            devminor: minor(st.rdev),
          };
          break;
        case S_IFIFO:
          yield { ...base, name: path, type: "fifo" };
          break;
        default:
          // Sockets are not archived (as docker and tar do).
          break;
      }
    }
  }
  yield* walk("");
}

/** Writes `dir` as a gzip layer blob into the store. */
export async function layerFromDir(store: Store, dir: string, opts: DirLayerOptions = {}): Promise<NewLayer> {
  const diff = new Hasher();
  async function* hashed(): AsyncGenerator<Uint8Array> {
    for await (const c of tarStream(dirEntries(dir, opts))) {
      diff.update(c);
      yield c;
    }
  }
  const r = await store.ingest(undefined, () => Readable.from(hashed()).pipe(createGzip({ level: 6 })));
  return { digest: r.digest, size: r.size, mediaType: MT.ociLayerGzip, diffId: diff.digest() };
}
