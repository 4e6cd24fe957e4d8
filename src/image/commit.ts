// Turning blobs in the store into an image: check the manifest against its config, unpack
// each layer into its snapshot (concurrently: in overlay form snapshots do not depend on their
// parents), then record image and tags in one transaction.
import { LeopardError } from "../util/errors.ts";
import type { ImageRecord } from "./db.ts";
import { chainIds, type Digest } from "./digest.ts";
import { type ImageConfig, type Manifest, MT, parseConfig, parseManifestOrIndex } from "./oci.ts";
import type { Store } from "./store.ts";

export interface CommitOptions {
  /** Canonical tag names ("docker.io/library/busybox:latest"). */
  tags: string[];
  onLayer?: (digest: Digest, state: "unpacking" | "done") => void;
}

/** Records the image whose manifest blob is already in the store (with its config and layers). */
export async function commitManifest(
  store: Store,
  manifestDigest: Digest,
  opts: CommitOptions,
): Promise<ImageRecord> {
  const what = `manifest "${manifestDigest}"`;
  const m = parseManifestOrIndex(store.readBlob(manifestDigest), what);
  if (m.kind !== "manifest")
    throw new LeopardError("invalid-argument", `${what} is an index, not an image manifest`);
  for (const d of [m.config, ...m.layers]) {
    if (!store.hasBlob(d.digest))
      throw new LeopardError("not-found", `${what} refers to the missing blob "${d.digest}"`);
  }
  const config = parseConfig(store.readBlob(m.config.digest), `config "${m.config.digest}"`);
  return commitParsed(store, manifestDigest, m, config, opts);
}

export async function commitParsed(
  store: Store,
  manifestDigest: Digest,
  m: Manifest,
  config: ImageConfig,
  opts: CommitOptions,
): Promise<ImageRecord> {
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== m.layers.length) {
    throw new LeopardError(
      "invalid-argument",
      `manifest "${manifestDigest}" has ${m.layers.length} layers but its config lists ${diffIds.length} diff_ids`,
    );
  }
  const chain = chainIds(diffIds);
  await Promise.all(
    m.layers.map(async (l, i) => {
      opts.onLayer?.(l.digest, "unpacking");
      await store.ensureSnapshot(
        chain[i] as Digest,
        i === 0 ? null : (chain[i - 1] as Digest),
        diffIds[i] as Digest,
        l.digest,
      );
      opts.onLayer?.(l.digest, "done");
    }),
  );
  let size = 0;
  for (const c of chain) size += store.meta.snapshot(c)?.size ?? 0;
  const img: ImageRecord = {
    id: m.config.digest,
    manifestDigest,
    manifestMediaType: m.mediaType,
    layers: m.layers.map((l, i) => ({
      digest: l.digest,
      mediaType: l.mediaType,
      size: l.size,
      diffId: diffIds[i] as Digest,
    })),
    chain,
    size,
    created: typeof config.created === "string" ? config.created : "",
    added: Date.now(),
  };
  store.meta.putImage(img, opts.tags);
  return store.meta.image(img.id) ?? img;
}

export interface NewLayer {
  digest: Digest;
  mediaType: string;
  size: number;
  diffId: Digest;
}

/** Writes config and OCI manifest for layers already in the store, then commits the image. */
export async function createImage(
  store: Store,
  layers: NewLayer[],
  config: Omit<ImageConfig, "rootfs">,
  opts: CommitOptions,
): Promise<ImageRecord> {
  const full: ImageConfig = { ...config, rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) } };
  const configBytes = new TextEncoder().encode(JSON.stringify(full));
  const configDigest = store.putBlob(configBytes);
  const manifest: Manifest = {
    kind: "manifest",
    mediaType: MT.ociManifest,
    config: { mediaType: MT.ociConfig, digest: configDigest, size: configBytes.length },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const manifestDigest = store.putBlob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: manifest.mediaType,
      config: manifest.config,
      layers: manifest.layers,
    }),
  );
  return commitParsed(store, manifestDigest, manifest, full, opts);
}
