// `leopard save`: images to an OCI archive (an OCI layout in a tar) or a docker archive
// (manifest.json + config + uncompressed layer tars), written to a temporary file and renamed.

import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { LeopardError } from "../util/errors.ts";
import { decompress } from "./compression.ts";
import type { ImageRecord } from "./db.ts";
import { hexOf } from "./digest.ts";
import { readChunks } from "./file-stream.ts";
import { MT } from "./oci.ts";
import type { Store } from "./store.ts";
import { type TarEntry, tarStream } from "./tar-write.ts";

export type ArchiveFormat = "oci-archive" | "docker-archive";

export interface SaveItem {
  image: ImageRecord;
  /** Canonical tags to record for it ("docker.io/library/busybox:latest"). */
  tags: string[];
}

const enc = new TextEncoder();
const MTIME = 0;

function blobEntry(store: Store, digest: ImageRecord["id"], size: number): TarEntry {
  return {
    name: `blobs/sha256/${hexOf(digest)}`,
    type: "file",
    mode: 0o444,
    mtime: MTIME,
    data: { path: store.blobPath(digest), size },
  };
}

function* ociEntries(store: Store, items: SaveItem[]): Generator<TarEntry> {
  yield {
    name: "oci-layout",
    type: "file",
    data: enc.encode('{"imageLayoutVersion":"1.0.0"}'),
    mtime: MTIME,
  };
  const manifests: unknown[] = [];
  for (const { image, tags } of items) {
    const mbytes = store.readBlob(image.manifestDigest);
    const base = { mediaType: image.manifestMediaType, digest: image.manifestDigest, size: mbytes.length };
    if (tags.length === 0) manifests.push(base);
    for (const t of tags) {
      manifests.push({
        ...base,
        annotations: { "io.containerd.image.name": t, "org.opencontainers.image.ref.name": t },
      });
    }
  }
  yield {
    name: "index.json",
    type: "file",
    mtime: MTIME,
    data: enc.encode(JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests })),
  };
  yield { name: "blobs", type: "dir", mtime: MTIME };
  yield { name: "blobs/sha256", type: "dir", mtime: MTIME };
  const seen = new Set<string>();
  for (const { image } of items) {
    const blobs = [
      { d: image.manifestDigest, size: store.readBlob(image.manifestDigest).length },
      { d: image.id, size: store.readBlob(image.id).length },
      ...image.layers.map((l) => ({ d: l.digest, size: l.size })),
    ];
    for (const b of blobs) {
      if (seen.has(b.d)) continue;
      seen.add(b.d);
      yield blobEntry(store, b.d, b.size);
    }
  }
}

function* dockerEntries(store: Store, items: SaveItem[]): Generator<TarEntry> {
  const manifest: unknown[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  const seen = new Set<string>();
  const entries: TarEntry[] = [];
  for (const { image, tags } of items) {
    const configName = `${hexOf(image.id)}.json`;
    const layers: string[] = [];
    if (!seen.has(configName)) {
      const cfg = store.readBlob(image.id);
      entries.push({ name: configName, type: "file", mtime: MTIME, data: cfg });
      seen.add(configName);
    }
    for (const [i, l] of image.layers.entries()) {
      // docker archives carry layers uncompressed, named by DiffID.
      const name = `${hexOf(l.diffId)}/layer.tar`;
      layers.push(name);
      if (seen.has(name)) continue;
      seen.add(name);
      const chain = image.chain[i];
      const snap = chain === undefined ? undefined : store.meta.snapshot(chain);
      if (snap === undefined)
        throw new LeopardError("not-found", `snapshot of layer "${l.digest}" is missing from the store`);
      entries.push({ name: hexOf(l.diffId), type: "dir", mtime: MTIME });
      entries.push({
        name,
        type: "file",
        mtime: MTIME,
        data: { size: snap.size, stream: () => decompress(readChunks(store.blobPath(l.digest))) },
      });
    }
    // Fully qualified: docker normalizes them the same, and podman would read a short
    // "busybox:latest" as "localhost/busybox:latest".
    const repoTags = tags;
    manifest.push({ Config: configName, RepoTags: repoTags, Layers: layers });
    for (const t of repoTags) {
      const colon = t.lastIndexOf(":");
      const repo = t.slice(0, colon);
      repositories[repo] = { ...repositories[repo], [t.slice(colon + 1)]: hexOf(image.id) };
    }
  }
  yield* entries;
  yield { name: "manifest.json", type: "file", mtime: MTIME, data: enc.encode(JSON.stringify(manifest)) };
  yield { name: "repositories", type: "file", mtime: MTIME, data: enc.encode(JSON.stringify(repositories)) };
}

/** Writes the archive to out (a path) atomically, or to stdout when out is "-". */
export async function save(
  store: Store,
  items: SaveItem[],
  format: ArchiveFormat,
  out: string,
): Promise<void> {
  const entries = format === "oci-archive" ? ociEntries(store, items) : dockerEntries(store, items);
  if (out === "-") {
    const w = Bun.stdout.writer();
    for await (const c of tarStream(entries)) {
      w.write(c);
      await w.flush();
    }
    await w.end();
    return;
  }
  const tmp = `${out}.tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, "w", 0o644);
    try {
      for await (const c of tarStream(entries)) {
        let off = 0;
        while (off < c.length) off += writeSync(fd, c, off);
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, out);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
