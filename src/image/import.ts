// `leopard import`: a root filesystem tarball (.tar, .tar.gz, .tar.xz, .tar.zst) as a one-layer
// image. gzip and zstd tarballs are stored as they are; xz, which no OCI layer type allows, is
// stored decompressed.

import { closeSync, openSync, readSync } from "node:fs";
import { SYSTEM_PATH } from "../sys/host-tool.ts";
import { LeopardError } from "../util/errors.ts";
import { createImage } from "./commit.ts";
import { type Compression, decompress, detectCompression } from "./compression.ts";
import type { ImageRecord } from "./db.ts";
import { type Digest, Hasher } from "./digest.ts";
import { readChunks } from "./file-stream.ts";
import { hostPlatform, MT } from "./oci.ts";
import type { Store } from "./store.ts";

export const DEFAULT_ENV = [`PATH=${SYSTEM_PATH}`];

function head(path: string): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw new LeopardError("not-found", `file "${path}" cannot be opened`, { cause: e, path });
  }
  try {
    const b = new Uint8Array(8);
    const n = readSync(fd, b, 0, 8, 0);
    return b.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

export async function diffIdOf(blob: AsyncIterable<Uint8Array>): Promise<Digest> {
  const h = new Hasher();
  for await (const c of decompress(blob)) h.update(c);
  return h.digest();
}

export interface ImportOptions {
  tags: string[];
  /** Image config "config" section (Cmd, Env, …); defaults to a shell. */
  config?: Record<string, unknown>;
  comment?: string;
}

/** Stores a tarball (file path) as a one-layer image; on failure nothing of it stays. */
export async function importTarball(store: Store, path: string, opts: ImportOptions): Promise<ImageRecord> {
  try {
    return await importLocked(store, path, opts);
  } catch (e) {
    await store.collect({ wait: false }).catch(() => undefined);
    throw e;
  }
}

async function importLocked(store: Store, path: string, opts: ImportOptions): Promise<ImageRecord> {
  using _w = await store.writerLock();
  const kind: Compression = detectCompression(head(path));
  const file = () => readChunks(path);
  let layer: { digest: Digest; size: number };
  let diffId: Digest;
  let mediaType: string;
  if (kind === "xz" || kind === "none") {
    layer = await store.ingest(undefined, () => decompress(file()));
    diffId = layer.digest;
    mediaType = MT.ociLayer;
  } else {
    layer = await store.ingest(undefined, file);
    diffId = await diffIdOf(readChunks(store.blobPath(layer.digest)));
    mediaType = kind === "gzip" ? MT.ociLayerGzip : MT.ociLayerZstd;
  }
  const p = hostPlatform();
  const created = new Date().toISOString();
  return createImage(
    store,
    [{ digest: layer.digest, mediaType, size: layer.size, diffId }],
    {
      architecture: p.architecture,
      os: p.os,
      created,
      config: opts.config ?? { Env: DEFAULT_ENV, Cmd: ["/bin/sh"] },
      history: [{ created, created_by: "leopard import", comment: opts.comment ?? `imported from ${path}` }],
    },
    { tags: opts.tags },
  );
}
