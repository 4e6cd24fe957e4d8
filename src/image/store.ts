// The image store: content-addressed blobs (verified before they become visible), one
// unpacked snapshot directory per layer chain ID, metadata in SQLite.
//
//   <root>/blobs/sha256/<hex>     blobs, renamed into place only after their digest matched
//   <root>/snapshots/<hex>/fs     a layer unpacked in overlayfs form (lower directory)
//   <root>/containers/<id>/       upper, work and merged directories of container root filesystems
//   <root>/tmp/                   downloads and unpacks in progress
//   <root>/locks/                 flock files: one per blob and per snapshot, and "gc"
//   <root>/leopard.db             metadata
//
// Concurrency: a blob or snapshot is produced under its own lock, and whoever gets the lock
// second finds it done. Writers (pull, import, load) hold "gc" shared for their whole run;
// removal of unreferenced blobs and snapshots holds it exclusively, so nothing is collected
// between being produced and being recorded.

import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { LeopardError } from "../util/errors.ts";
import { engineRootless, SYSTEM_STORAGE, storageDir } from "../util/user-dirs.ts";
import { BlobFile, streamToFile } from "./blob-file.ts";
import { type ImageRecord, MetaDb } from "./db.ts";
import { type Digest, hexOf, isDigest, sha256 } from "./digest.ts";
import { type FileLock, lockFile, tryLockFile } from "./lock.ts";
import { formatReference, parseReference } from "./reference.ts";
import type { UnpackOptions } from "./unpack.ts";

export const DEFAULT_STORAGE = SYSTEM_STORAGE;

/** $LEOPARD_STORAGE, else /var/lib/leopard for root and $XDG_DATA_HOME/leopard for a user (src/util/user-dirs.ts). */
export function defaultStorage(): string {
  return storageDir(process.env, engineRootless());
}

export class Store {
  readonly root: string;
  readonly meta: MetaDb;
  readonly unpackOptions: UnpackOptions;
  readonly #inflight = new Map<string, Promise<unknown>>();

  constructor(root: string = defaultStorage(), unpackOptions: UnpackOptions = {}) {
    this.root = root;
    for (const d of ["blobs/sha256", "snapshots", "containers", "tmp", "locks"]) {
      try {
        mkdirSync(`${root}/${d}`, { recursive: true, mode: 0o700 });
      } catch (e) {
        throw new LeopardError(
          "invalid-argument",
          `cannot use the storage directory "${root}": ${(e as Error).message.split(",")[0]}${engineRootless() ? " (a rootless leopard keeps images in $XDG_DATA_HOME/leopard, the default; --storage or LEOPARD_STORAGE names another)" : ""}`,
          { cause: e, path: root },
        );
      }
    }
    this.meta = new MetaDb(`${root}/leopard.db`);
    this.unpackOptions = { rootless: process.getuid?.() !== 0, ...unpackOptions };
  }

  close(): void {
    this.meta.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  blobPath(d: Digest): string {
    return `${this.root}/blobs/sha256/${hexOf(d)}`;
  }

  snapshotPath(chainId: Digest): string {
    return `${this.root}/snapshots/${hexOf(chainId)}/fs`;
  }

  hasBlob(d: Digest): boolean {
    return existsSync(this.blobPath(d));
  }

  readBlob(d: Digest): Uint8Array {
    try {
      return readFileSync(this.blobPath(d));
    } catch {
      throw new LeopardError("not-found", `blob "${d}" is not in the store`);
    }
  }

  readJson(d: Digest): unknown {
    return JSON.parse(new TextDecoder().decode(this.readBlob(d)));
  }

  tmpPath(prefix: string): string {
    return `${this.root}/tmp/${prefix}-${process.pid}-${randomBytes(6).toString("hex")}`;
  }

  /** Writers hold this shared so collection waits for them. */
  writerLock(): Promise<FileLock> {
    return lockFile(`${this.root}/locks/gc`, { shared: true });
  }

  /** Stores small bytes (manifests, configs) and returns their digest. */
  putBlob(data: Uint8Array | string): Digest {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    const d = sha256(bytes);
    if (this.hasBlob(d)) return d;
    const tmp = this.tmpPath("blob");
    writeAll(tmp, [bytes]);
    renameSync(tmp, this.blobPath(d));
    return d;
  }

  /**
   * Streams a blob into the store. With an expected digest the blob is fetched at most once
   * across processes (`open` is not called when it is already there) and refused if its bytes
   * do not match; without one, the digest is computed.
   */
  async ingest(
    expected: { digest: Digest; size?: number } | undefined,
    open: () => AsyncIterable<Uint8Array> | Promise<AsyncIterable<Uint8Array>>,
    what = "blob",
  ): Promise<{ digest: Digest; size: number; fetched: boolean }> {
    if (expected !== undefined) {
      const key = `blob:${expected.digest}`;
      const prior = this.#inflight.get(key);
      if (prior !== undefined) {
        await prior;
        return {
          digest: expected.digest,
          size: statSync(this.blobPath(expected.digest)).size,
          fetched: false,
        };
      }
      const p = this.#ingestLocked(expected, open, what);
      this.#inflight.set(key, p);
      try {
        return await p;
      } finally {
        this.#inflight.delete(key);
      }
    }
    const tmp = this.tmpPath("blob");
    try {
      const h = await streamToFile(tmp, await open(), undefined);
      const digest = h.digest();
      if (!this.hasBlob(digest)) renameSync(tmp, this.blobPath(digest));
      return { digest, size: h.size, fetched: true };
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  async #ingestLocked(
    expected: { digest: Digest; size?: number },
    open: () => AsyncIterable<Uint8Array> | Promise<AsyncIterable<Uint8Array>>,
    what: string,
  ): Promise<{ digest: Digest; size: number; fetched: boolean }> {
    const d = expected.digest;
    if (this.hasBlob(d)) return { digest: d, size: statSync(this.blobPath(d)).size, fetched: false };
    using _lock = await lockFile(this.#blobLock(d));
    return await this.#ingestUnlocked(expected, open, what);
  }

  /** The blob's lock is held. */
  async #ingestUnlocked(
    expected: { digest: Digest; size?: number },
    open: () => AsyncIterable<Uint8Array> | Promise<AsyncIterable<Uint8Array>>,
    what: string,
  ): Promise<{ digest: Digest; size: number; fetched: boolean }> {
    const d = expected.digest;
    if (this.hasBlob(d)) return { digest: d, size: statSync(this.blobPath(d)).size, fetched: false };
    const tmp = this.tmpPath("blob");
    try {
      const f = await streamToFile(
        tmp,
        await open(),
        expected.size === undefined ? undefined : { size: expected.size, what },
      );
      f.verify(expected, what);
      renameSync(tmp, this.blobPath(d));
      return { digest: d, size: f.size, fetched: true };
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  #buildCacheLayers(): string[] {
    return buildCacheLayers(this.root);
  }

  #blobLock(d: Digest): string {
    return `${this.root}/locks/blob-${hexOf(d)}`;
  }

  #snapLock(chainId: Digest): string {
    return `${this.root}/locks/snap-${hexOf(chainId)}`;
  }

  #snapshotReady(chainId: Digest): boolean {
    return (
      this.meta.snapshot(chainId) !== undefined && existsSync(`${this.root}/snapshots/${hexOf(chainId)}`)
    );
  }

  /**
   * Makes sure the snapshot for chainId exists, unpacking the layer blob on top of nothing
   * (overlay form: each snapshot holds only its own layer). Verifies the DiffID.
   */
  async ensureSnapshot(chainId: Digest, parent: Digest | null, diffId: Digest, layer: Digest): Promise<void> {
    const key = `snap:${chainId}`;
    const prior = this.#inflight.get(key);
    if (prior !== undefined) return void (await prior);
    const p = this.#ensureSnapshotLocked(chainId, parent, diffId, layer);
    this.#inflight.set(key, p);
    try {
      await p;
    } finally {
      this.#inflight.delete(key);
    }
  }

  async #ensureSnapshotLocked(
    chainId: Digest,
    parent: Digest | null,
    diffId: Digest,
    layer: Digest,
  ): Promise<void> {
    if (this.#snapshotReady(chainId)) return;
    using _lock = await lockFile(this.#snapLock(chainId));
    if (this.#snapshotReady(chainId)) return;
    await this.#unpackInto(chainId, parent, diffId, layer, this.blobPath(layer));
  }

  /**
   * Unpacks source (a file path or a stream) into a temporary directory, checks the DiffID,
   * runs beforeVisible and only then renames the snapshot into place. The snapshot's lock is held.
   */
  async #unpackInto(
    chainId: Digest,
    parent: Digest | null,
    diffId: Digest,
    layer: Digest,
    source: string | AsyncIterable<Uint8Array>,
    beforeVisible: (unpackError: unknown) => Promise<void> = async (e) => {
      if (e !== undefined) throw e;
    },
  ): Promise<void> {
    const dir = `${this.root}/snapshots/${hexOf(chainId)}`;
    const tmp = this.tmpPath("snap");
    try {
      mkdirSync(`${tmp}/fs`, { recursive: true, mode: 0o755 });
      // Loaded only when a layer is unpacked: listing images stays fast. On a worker thread,
      // so that the layers a pull unpacks side by side use all cores (see unpack-thread.ts).
      const { unpackInWorker } = await import("./unpack-thread.ts");
      let r: Awaited<ReturnType<typeof unpackInWorker>> | undefined;
      let failure: unknown;
      try {
        r = await unpackInWorker(source, `${tmp}/fs`, this.unpackOptions);
        if (r.diffId !== diffId) {
          throw new LeopardError(
            "invalid-argument",
            `layer "${layer}" unpacks to "${r.diffId}" but the image config says "${diffId}"`,
          );
        }
      } catch (e) {
        failure = e;
      }
      await beforeVisible(failure);
      if (failure !== undefined || r === undefined) throw failure;
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
      this.meta.addSnapshot({ chainId, parent, diffId, size: r.size });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }

  /**
   * Fetches a layer blob and unpacks it while it downloads: the bytes go to a temporary blob
   * file and, at the same time, through the unpacker into a temporary snapshot. Neither becomes
   * visible before the blob's size and digest and the layer's DiffID have matched; a blob
   * refused by its digest is reported as such even when its bytes also failed to unpack.
   */
  async fetchLayer(
    layer: { digest: Digest; size?: number },
    snap: { chainId: Digest; parent: Digest | null; diffId: Digest },
    open: () => AsyncIterable<Uint8Array> | Promise<AsyncIterable<Uint8Array>>,
    what = "layer",
  ): Promise<{ fetched: boolean }> {
    const bkey = `blob:${layer.digest}`;
    const skey = `snap:${snap.chainId}`;
    if (this.hasBlob(layer.digest) || this.#inflight.has(bkey) || this.#inflight.has(skey)) {
      // Here already, or on its way: the one-step-at-a-time path shares the work.
      const r = await this.ingest(layer, open, what);
      await this.ensureSnapshot(snap.chainId, snap.parent, snap.diffId, layer.digest);
      return { fetched: r.fetched };
    }
    const p = this.#fetchLayerLocked(layer, snap, open, what);
    this.#inflight.set(bkey, p);
    this.#inflight.set(skey, p);
    try {
      return await p;
    } finally {
      this.#inflight.delete(bkey);
      this.#inflight.delete(skey);
    }
  }

  async #fetchLayerLocked(
    layer: { digest: Digest; size?: number },
    snap: { chainId: Digest; parent: Digest | null; diffId: Digest },
    open: () => AsyncIterable<Uint8Array> | Promise<AsyncIterable<Uint8Array>>,
    what: string,
  ): Promise<{ fetched: boolean }> {
    const d = layer.digest;
    // Lock order: blob, then snapshot (ensureSnapshot takes only the latter, ingest the former).
    using _b = await lockFile(this.#blobLock(d));
    using _s = await lockFile(this.#snapLock(snap.chainId));
    if (this.hasBlob(d) || this.#snapshotReady(snap.chainId)) {
      // Another process got here first with one of them: do what is left, step by step.
      const r = await this.#ingestUnlocked(layer, open, what);
      if (!this.#snapshotReady(snap.chainId))
        await this.#unpackInto(snap.chainId, snap.parent, snap.diffId, d, this.blobPath(d));
      return { fetched: r.fetched };
    }
    const tmp = this.tmpPath("blob");
    const file = new BlobFile(tmp, layer.size === undefined ? undefined : { size: layer.size, what });
    try {
      const it = (await open())[Symbol.asyncIterator]();
      let sourceError: unknown;
      // Every byte read goes to the file before the unpacker sees it.
      const tee: AsyncIterable<Uint8Array> = {
        [Symbol.asyncIterator]: () => ({
          next: async () => {
            try {
              const r = await it.next();
              if (!r.done) file.write(r.value);
              return r;
            } catch (e) {
              sourceError ??= e;
              throw e;
            }
          },
        }),
      };
      await this.#unpackInto(snap.chainId, snap.parent, snap.diffId, d, tee, async (unpackError) => {
        // The unpacker may have stopped early (a refused layer): the rest is read so that the
        // digest, which takes precedence, can be checked.
        // A failed download is reported as such, not as the unpacker's view of it.
        if (sourceError !== undefined) throw sourceError;
        for (let r = await it.next(); !r.done; r = await it.next()) file.write(r.value);
        file.verify(layer, what);
        if (unpackError !== undefined) throw unpackError;
        await file.sync();
        file.close();
        renameSync(tmp, this.blobPath(d));
      });
      return { fetched: true };
    } finally {
      file.close();
      rmSync(tmp, { force: true });
    }
  }

  /** Finds an image by name ("busybox", "x:1", "repo@sha256:…"), id or unique id prefix. */
  resolve(nameOrId: string): ImageRecord {
    const img = this.find(nameOrId);
    if (img === undefined) throw new LeopardError("not-found", `image "${nameOrId}" is not in the store`);
    return img;
  }

  find(nameOrId: string): ImageRecord | undefined {
    const s = nameOrId.trim();
    if (isDigest(s)) return this.meta.image(s) ?? this.meta.imageByManifest(s);
    const hex = s.replace(/^sha256:/, "");
    if (/^[a-f0-9]{3,64}$/.test(hex)) {
      const m = this.meta.imagesByPrefix(hex);
      if (m.length > 1) throw new LeopardError("invalid-argument", `image id prefix "${s}" is ambiguous`);
      if (m[0] !== undefined) return m[0];
    }
    let ref: ReturnType<typeof parseReference>;
    try {
      ref = parseReference(s);
    } catch {
      return undefined;
    }
    if (ref.digest !== undefined) {
      const img = this.meta.imageByManifest(ref.digest);
      if (img !== undefined) return img;
      return this.meta.image(ref.digest);
    }
    const id = this.meta.tagTarget(formatReference(ref));
    return id === undefined ? undefined : this.meta.image(id);
  }

  /**
   * Removes blobs and snapshots no image refers to. Waits for writers to finish; skips
   * anything whose own lock is held.
   */
  async collect(opts: { wait?: boolean } = {}): Promise<{ blobs: number; snapshots: number; bytes: number }> {
    const out = { blobs: 0, snapshots: 0, bytes: 0 };
    const gcPath = `${this.root}/locks/gc`;
    using _gc = opts.wait === false ? await tryLockFile(gcPath, { timeoutMs: 0 }) : await lockFile(gcPath);
    if (_gc === undefined) return out; // writers at work: leave it to the next collection
    for (const c of this.meta.unreferencedSnapshots()) {
      const l = await tryLockFile(`${this.root}/locks/snap-${hexOf(c)}`, { timeoutMs: 0 });
      if (l === undefined) continue;
      try {
        rmSync(`${this.root}/snapshots/${hexOf(c)}`, { recursive: true, force: true });
        rmSync(`${this.root}/l/${hexOf(c).slice(0, 12)}`, { force: true });
        this.meta.deleteSnapshot(c);
        out.snapshots++;
      } finally {
        l.release();
        rmSync(`${this.root}/locks/snap-${hexOf(c)}`, { force: true });
      }
    }
    // Leftovers of leopard processes that died mid-download or mid-unpack.
    for (const name of readdirSync(`${this.root}/tmp`)) {
      const pid = Number(/^[a-z]+-(\d+)-/.exec(name)?.[1]);
      if (Number.isInteger(pid) && pid !== process.pid && !alive(pid)) {
        rmSync(`${this.root}/tmp/${name}`, { recursive: true, force: true });
      }
    }
    const live = new Set<string>();
    for (const img of this.meta.images()) {
      live.add(hexOf(img.id));
      live.add(hexOf(img.manifestDigest));
      for (const l of img.layers) live.add(hexOf(l.digest));
    }
    for (const d of this.#buildCacheLayers()) live.add(d);
    for (const hex of readdirSync(`${this.root}/blobs/sha256`)) {
      if (live.has(hex)) continue;
      const p = `${this.root}/blobs/sha256/${hex}`;
      out.bytes += statSync(p).size;
      rmSync(p, { force: true });
      rmSync(`${this.root}/locks/blob-${hex}`, { force: true });
      out.blobs++;
    }
    return out;
  }
}

/**
 * The layer blobs the build cache keeps (src/build/cache.ts writes <root>/build-cache/*.json,
 * each with a "layers" array of descriptors): hex digests.
 */
function buildCacheLayers(root: string): string[] {
  const out: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(`${root}/build-cache`).filter((n) => n.endsWith(".json"));
  } catch {
    // no build cache yet: it keeps nothing
  }
  for (const n of names) {
    try {
      const s = JSON.parse(readFileSync(`${root}/build-cache/${n}`, "utf8")) as {
        layers?: { digest?: unknown }[];
      };
      for (const l of s.layers ?? [])
        if (typeof l.digest === "string" && isDigest(l.digest)) out.push(hexOf(l.digest));
    } catch {
      // an unreadable or half-written entry keeps nothing; the build treats it as a miss
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function writeAll(path: string, chunks: Uint8Array[]): void {
  const fd = openSync(path, "wx", 0o600);
  try {
    for (const c of chunks) writeSync(fd, c);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
