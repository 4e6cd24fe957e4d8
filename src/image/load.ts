// `leopard load`: docker-save archives (legacy and the OCI-shaped ones docker 25+ writes), OCI
// image layouts (directories) and OCI archives (a layout in a tar). Archives are first unpacked
// into a temporary directory with the same safe unpacker as layers; every blob taken from
// them is verified against its digest on the way into the store.
//
// Every path an archive names (manifest.json, its Config and Layers, index.json, blobs) is
// opened from the archive root's fd with openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS): a symlink
// in any component is refused, not followed, so an archive holding `x -> /` cannot have leopard
// read (or tell apart by its error) the host's x/etc/… files. Absolute paths and ".." are refused
// before the kernel sees them; the tar unpacker refuses ".." entries and creates symlink entries
// without following them.

import {
  closeSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
} from "node:fs";
import { SysError } from "../sys/libc.ts";
import { O_CLOEXEC, O_DIRECTORY, O_NOFOLLOW, O_PATH, openBeneath } from "../sys/openat2.ts";
import { describe as describeErr, LeopardError } from "../util/errors.ts";
import { commitManifest, type NewLayer } from "./commit.ts";
import type { ImageRecord } from "./db.ts";
import { type Digest, hexOf, isDigest } from "./digest.ts";
import { readChunks, readFdChunks } from "./file-stream.ts";
import { diffIdOf } from "./import.ts";
import {
  hostPlatform,
  MT,
  type Platform,
  parseConfig,
  parseJson,
  parseManifestOrIndex,
  selectPlatform,
} from "./oci.ts";
import { formatReference, parseReference } from "./reference.ts";
import type { Store } from "./store.ts";
import { entryComponents, unpackLayer } from "./unpack.ts";

export interface LoadOptions {
  platform?: Platform;
  /** Name for images the archive leaves untagged (or tags only as "latest"). */
  name?: string;
}

export interface Loaded {
  image: ImageRecord;
  tags: string[];
}

/** Loads an archive file or a layout directory; returns the images it held. */
export async function load(store: Store, input: string, opts: LoadOptions = {}): Promise<Loaded[]> {
  try {
    return await loadLocked(store, input, opts);
  } catch (e) {
    // Blobs of a refused archive go (images loaded before the failure stay).
    await store.collect({ wait: false }).catch(() => undefined);
    throw e;
  }
}

async function loadLocked(store: Store, input: string, opts: LoadOptions): Promise<Loaded[]> {
  using _w = await store.writerLock();
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(input);
  } catch (e) {
    throw new LeopardError("not-found", `archive "${input}" does not exist`, { cause: e, path: input });
  }
  if (st.isDirectory()) return loadDir(store, input, opts);
  const tmp = store.tmpPath("load");
  mkdirSync(tmp, { recursive: true, mode: 0o700 });
  try {
    try {
      await unpackLayer(readChunks(input), tmp, { rootless: true });
    } catch (e) {
      throw new LeopardError("invalid-argument", `archive "${input}" cannot be read: ${describeErr(e)}`, {
        cause: e,
      });
    }
    return await loadDir(store, tmp, opts);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function loadDir(store: Store, dir: string, opts: LoadOptions): Promise<Loaded[]> {
  using root = new ArchiveRoot(dir);
  // lstat: a symlinked index.json counts as present (and is refused when opened), so which
  // error comes back says nothing about the file it points at.
  if (root.has("index.json") && root.has("oci-layout")) return await loadOciLayout(store, root, opts);
  if (root.has("manifest.json")) return await loadDockerArchive(store, root, opts);
  throw new LeopardError(
    "invalid-argument",
    `"${dir}" is neither an OCI layout (index.json, oci-layout) nor a docker archive (manifest.json)`,
  );
}

const O_RDONLY = 0;
const O_NOCTTY = 0o400;
/** A FIFO in the archive must not block the open; a regular file reads the same. */
const O_NONBLOCK = 0o4000;
const ENOENT = 2;
const ENOTDIR = 20;
const EXDEV = 18;
const ELOOP = 40;

/** An archive's (or layout's) root directory, from which every path it names is opened. */
class ArchiveRoot {
  readonly dir: string;
  readonly #fd: number;

  constructor(dir: string) {
    this.dir = dir;
    this.#fd = openSync(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  }

  has(name: string): boolean {
    return lstatSync(`${this.dir}/${name}`, { throwIfNoEntry: false }) !== undefined;
  }

  /**
   * Opens the archive path `name` (already split by entryComponents: relative, no "..") as a
   * regular file beneath the root, through no symlink; `what` names it in errors. The caller
   * closes the fd.
   */
  open(parts: string[], name: string, what: string): number {
    const rel = parts.join("/");
    let fd: number;
    try {
      fd = openBeneath(this.#fd, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    } catch (e) {
      if (!(e instanceof SysError)) throw e;
      if (e.errno === ENOENT || e.errno === ENOTDIR)
        throw new LeopardError("not-found", `the archive lacks ${what}`);
      if (e.errno === ELOOP) {
        // Is the symlink the path's last component (then O_NOFOLLOW|O_PATH opens it) or on the way?
        let last = false;
        try {
          closeSync(openBeneath(this.#fd, rel, O_PATH | O_NOFOLLOW));
          last = true;
        } catch {
          // not openable without following either: the symlink is on the way
        }
        throw new LeopardError(
          "invalid-argument",
          `archive path "${name}" ${last ? "is a symlink" : "goes through a symlink"}`,
          { cause: e },
        );
      }
      if (e.errno === EXDEV)
        throw new LeopardError("invalid-argument", `archive path "${name}" leads outside the archive`, {
          cause: e,
        });
      throw new LeopardError("system", `archive path "${name}" cannot be opened: ${describeErr(e)}`, {
        cause: e,
      });
    }
    if (!fstatSync(fd).isFile()) {
      closeSync(fd);
      throw new LeopardError("invalid-argument", `${what} in the archive is not a regular file`);
    }
    return fd;
  }

  /** The whole of a file the archive names. */
  read(parts: string[], name: string, what: string): Buffer {
    const fd = this.open(parts, name, what);
    try {
      return readFileSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  [Symbol.dispose](): void {
    closeSync(this.#fd);
  }
}

/** The canonical tag for a name found in an archive, or undefined when it is not one. */
function canonicalTag(name: string | undefined): string | undefined {
  if (name === undefined || name === "") return undefined;
  try {
    return formatReference(parseReference(name));
  } catch {
    return undefined;
  }
}

async function copyBlob(store: Store, root: ArchiveRoot, d: Digest, size?: number): Promise<void> {
  if (store.hasBlob(d)) return;
  const name = `blobs/sha256/${hexOf(d)}`;
  const fd = root.open(["blobs", "sha256", hexOf(d)], name, `the blob "${d}"`);
  try {
    await store.ingest(size === undefined ? { digest: d } : { digest: d, size }, () => readFdChunks(fd));
  } finally {
    closeSync(fd);
  }
}

async function loadOciLayout(store: Store, root: ArchiveRoot, opts: LoadOptions): Promise<Loaded[]> {
  const index = parseManifestOrIndex(root.read(["index.json"], "index.json", "index.json"), "index.json");
  if (index.kind !== "index")
    throw new LeopardError("invalid-argument", `index.json of "${root.dir}" is not an image index`);
  const out: Loaded[] = [];
  for (const desc of index.manifests) {
    const refName =
      desc.annotations?.["io.containerd.image.name"] ??
      desc.annotations?.["org.opencontainers.image.ref.name"];
    let tag = canonicalTag(refName);
    // A bare "latest"-style ref.name names a tag of the image given by --name.
    if (
      refName !== undefined &&
      !refName.includes("/") &&
      !refName.includes(":") &&
      opts.name !== undefined
    ) {
      tag = canonicalTag(`${opts.name.replace(/:[^/:]*$/, "")}:${refName}`);
    } else if (tag === undefined && opts.name !== undefined) {
      tag = canonicalTag(opts.name);
    }
    let manifestDesc = desc;
    await copyBlob(store, root, desc.digest, desc.size);
    const doc = parseManifestOrIndex(store.readBlob(desc.digest), `manifest "${desc.digest}"`);
    if (doc.kind === "index") {
      manifestDesc = selectPlatform(doc, opts.platform ?? hostPlatform(), `index "${desc.digest}"`);
      await copyBlob(store, root, manifestDesc.digest, manifestDesc.size);
    }
    const m = parseManifestOrIndex(store.readBlob(manifestDesc.digest), `manifest "${manifestDesc.digest}"`);
    if (m.kind !== "manifest")
      throw new LeopardError("unsupported", `nested index "${manifestDesc.digest}" is not supported`);
    await copyBlob(store, root, m.config.digest, m.config.size);
    await Promise.all(m.layers.map((l) => copyBlob(store, root, l.digest, l.size)));
    const tags = tag === undefined ? [] : [tag];
    out.push({ image: await commitManifest(store, manifestDesc.digest, { tags }), tags });
  }
  return out;
}

interface DockerManifestEntry {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

/** Opens the file manifest.json names at `what`; the caller closes the fd. */
function archiveFile(root: ArchiveRoot, name: unknown, what: string): number {
  if (typeof name !== "string")
    throw new LeopardError("invalid-argument", `manifest.json ${what} is not a path`);
  return root.open(entryComponents(name, `manifest.json ${what}`), name, `"${name}"`);
}

function readAll(fd: number): Buffer {
  try {
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function loadDockerArchive(store: Store, root: ArchiveRoot, opts: LoadOptions): Promise<Loaded[]> {
  const list = parseJson(root.read(["manifest.json"], "manifest.json", "manifest.json"), "manifest.json");
  if (!Array.isArray(list)) throw new LeopardError("invalid-argument", "manifest.json is not a list");
  const out: Loaded[] = [];
  for (const [i, raw] of list.entries()) {
    const e = raw as DockerManifestEntry;
    const configBytes = readAll(archiveFile(root, e.Config, `[${i}].Config`));
    const config = parseConfig(configBytes, `config "${e.Config}"`);
    if (!Array.isArray(e.Layers) || e.Layers.length !== config.rootfs.diff_ids.length) {
      throw new LeopardError(
        "invalid-argument",
        `manifest.json [${i}] has layers that do not match its config's diff_ids`,
      );
    }
    const layers: NewLayer[] = [];
    for (const [j, name] of e.Layers.entries()) {
      const fd = archiveFile(root, name, `[${i}].Layers[${j}]`);
      const head = new Uint8Array(4);
      let blob: { digest: Digest; size: number };
      try {
        blob = await store.ingest(undefined, () => readFdChunks(fd));
        readSync(fd, head, 0, 4, 0);
      } finally {
        closeSync(fd);
      }
      const diffId = await diffIdOf(readChunks(store.blobPath(blob.digest)));
      if (diffId !== config.rootfs.diff_ids[j]) {
        throw new LeopardError(
          "invalid-argument",
          `layer "${name}" has DiffID "${diffId}" but the config says "${config.rootfs.diff_ids[j]}"`,
        );
      }
      const mediaType =
        head[0] === 0x1f && head[1] === 0x8b
          ? MT.ociLayerGzip
          : head[0] === 0x28
            ? MT.ociLayerZstd
            : MT.ociLayer;
      layers.push({ digest: blob.digest, mediaType, size: blob.size, diffId });
    }
    const tags = (Array.isArray(e.RepoTags) ? e.RepoTags : [])
      .map(canonicalTag)
      .filter((t): t is string => t !== undefined);
    if (tags.length === 0 && opts.name !== undefined) {
      const t = canonicalTag(opts.name);
      if (t !== undefined) tags.push(t);
    }
    // Keep the config bytes as they are, so the image id stays the one docker showed.
    const configDigest = store.putBlob(configBytes);
    const named = `sha256:${e.Config.replace(/^blobs\/sha256\//, "").replace(/\.json$/, "")}`;
    if (isDigest(named) && named !== configDigest) {
      throw new LeopardError("invalid-argument", `config "${e.Config}" does not match its name`);
    }
    const image = await createImageWithConfig(store, layers, configBytes, configDigest, tags);
    out.push({ image, tags });
  }
  return out;
}

async function createImageWithConfig(
  store: Store,
  layers: NewLayer[],
  configBytes: Uint8Array,
  configDigest: Digest,
  tags: string[],
): Promise<ImageRecord> {
  const manifest = {
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    config: { mediaType: MT.ociConfig, digest: configDigest, size: configBytes.length },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const manifestDigest = store.putBlob(JSON.stringify(manifest));
  return commitManifest(store, manifestDigest, { tags });
}
