// `leopard load`: docker-save archives (legacy and the OCI-shaped ones docker 25+ writes), OCI
// image layouts (directories) and OCI archives (a layout in a tar). Archives are first unpacked
// into a temporary directory with the same safe unpacker as layers; every blob taken from
// them is verified against its digest on the way into the store.

import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { describe as describeErr, LeopardError } from "../util/errors.ts";
import { commitManifest, type NewLayer } from "./commit.ts";
import type { ImageRecord } from "./db.ts";
import { type Digest, hexOf, isDigest } from "./digest.ts";
import { readChunks } from "./file-stream.ts";
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
  if (existsSync(`${dir}/index.json`) && existsSync(`${dir}/oci-layout`))
    return loadOciLayout(store, dir, opts);
  if (existsSync(`${dir}/manifest.json`)) return loadDockerArchive(store, dir, opts);
  throw new LeopardError(
    "invalid-argument",
    `"${dir}" is neither an OCI layout (index.json, oci-layout) nor a docker archive (manifest.json)`,
  );
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

/** A path taken from an archive must be a regular file: a symlink could read host files. */
function regularFile(p: string, what: string): string {
  const st = lstatSync(p, { throwIfNoEntry: false });
  if (st === undefined) throw new LeopardError("not-found", `the archive lacks ${what}`);
  if (!st.isFile())
    throw new LeopardError("invalid-argument", `${what} in the archive is not a regular file`);
  return p;
}

async function copyBlob(store: Store, dir: string, d: Digest, size?: number): Promise<void> {
  if (store.hasBlob(d)) return;
  const p = regularFile(`${dir}/blobs/sha256/${hexOf(d)}`, `the blob "${d}"`);
  await store.ingest(size === undefined ? { digest: d } : { digest: d, size }, () => readChunks(p));
}

async function loadOciLayout(store: Store, dir: string, opts: LoadOptions): Promise<Loaded[]> {
  const index = parseManifestOrIndex(
    readFileSync(regularFile(`${dir}/index.json`, "index.json")),
    "index.json",
  );
  if (index.kind !== "index")
    throw new LeopardError("invalid-argument", `index.json of "${dir}" is not an image index`);
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
    await copyBlob(store, dir, desc.digest, desc.size);
    const doc = parseManifestOrIndex(store.readBlob(desc.digest), `manifest "${desc.digest}"`);
    if (doc.kind === "index") {
      manifestDesc = selectPlatform(doc, opts.platform ?? hostPlatform(), `index "${desc.digest}"`);
      await copyBlob(store, dir, manifestDesc.digest, manifestDesc.size);
    }
    const m = parseManifestOrIndex(store.readBlob(manifestDesc.digest), `manifest "${manifestDesc.digest}"`);
    if (m.kind !== "manifest")
      throw new LeopardError("unsupported", `nested index "${manifestDesc.digest}" is not supported`);
    await copyBlob(store, dir, m.config.digest, m.config.size);
    await Promise.all(m.layers.map((l) => copyBlob(store, dir, l.digest, l.size)));
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

function archivePath(dir: string, name: unknown, what: string): string {
  if (typeof name !== "string")
    throw new LeopardError("invalid-argument", `manifest.json ${what} is not a path`);
  return regularFile(`${dir}/${entryComponents(name, `manifest.json ${what}`).join("/")}`, `"${name}"`);
}

async function loadDockerArchive(store: Store, dir: string, opts: LoadOptions): Promise<Loaded[]> {
  const list = parseJson(readFileSync(regularFile(`${dir}/manifest.json`, "manifest.json")), "manifest.json");
  if (!Array.isArray(list)) throw new LeopardError("invalid-argument", "manifest.json is not a list");
  const out: Loaded[] = [];
  for (const [i, raw] of list.entries()) {
    const e = raw as DockerManifestEntry;
    const configBytes = readFileSync(archivePath(dir, e.Config, `[${i}].Config`));
    const config = parseConfig(configBytes, `config "${e.Config}"`);
    if (!Array.isArray(e.Layers) || e.Layers.length !== config.rootfs.diff_ids.length) {
      throw new LeopardError(
        "invalid-argument",
        `manifest.json [${i}] has layers that do not match its config's diff_ids`,
      );
    }
    const layers: NewLayer[] = [];
    for (const [j, name] of e.Layers.entries()) {
      const p = archivePath(dir, name, `[${i}].Layers[${j}]`);
      const blob = await store.ingest(undefined, () => readChunks(p));
      const diffId = await diffIdOf(readChunks(store.blobPath(blob.digest)));
      if (diffId !== config.rootfs.diff_ids[j]) {
        throw new LeopardError(
          "invalid-argument",
          `layer "${name}" has DiffID "${diffId}" but the config says "${config.rootfs.diff_ids[j]}"`,
        );
      }
      const head = new Uint8Array(await Bun.file(p).slice(0, 4).arrayBuffer());
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
