// `leopard pull`: resolve a reference to a manifest (through an index by platform), fetch
// config and layers concurrently into the store (each verified, each fetched at most once
// across processes), unpack them and record the image. "busybox" falls back to the embedded
// image when the registry cannot be reached.
import { describe, LeopardError } from "../util/errors.ts";
import { findCredentials } from "./auth.ts";
import { BUSYBOX_TAG, buildBusybox } from "./busybox.ts";
import { commitManifest } from "./commit.ts";
import type { ImageRecord } from "./db.ts";
import { chainIds, type Digest, shortId } from "./digest.ts";
import {
  type Descriptor,
  formatPlatform,
  hostPlatform,
  type Platform,
  parseConfig,
  parseManifestOrIndex,
  selectPlatform,
} from "./oci.ts";
import { type ProgressSink, silent } from "./progress.ts";
import { formatReference, parseReference, type Reference } from "./reference.ts";
import { Registry } from "./registry.ts";
import type { Store } from "./store.ts";

export interface PullOptions {
  platform?: Platform;
  tlsVerify?: boolean;
  authfile?: string;
  progress?: ProgressSink;
  /** Layers fetched at once. */
  concurrency?: number;
  /** Build the embedded busybox when "busybox" cannot be pulled (default true). */
  embeddedFallback?: boolean;
  /** Registry name → host[:port] serving it instead (mirrors, and tests). */
  mirrors?: Record<string, string>;
}

async function pool<T>(items: T[], n: number, f: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await f(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

async function* counted(
  src: AsyncIterable<Uint8Array>,
  onBytes: (n: number) => void,
): AsyncGenerator<Uint8Array> {
  for await (const c of src) {
    onBytes(c.length);
    yield c;
  }
}

export async function pull(store: Store, name: string, opts: PullOptions = {}): Promise<ImageRecord> {
  const ref = parseReference(name);
  try {
    return await pullFrom(store, ref, opts);
  } catch (e) {
    // Whatever this pull stored but no image refers to goes now, unless others are writing.
    await store.collect({ wait: false }).catch(() => undefined);
    const isBusybox = formatReference(ref) === BUSYBOX_TAG;
    const unreachable = e instanceof LeopardError && e.code === "system";
    if (isBusybox && unreachable && opts.embeddedFallback !== false) {
      (opts.progress ?? silent).line(`registry unreachable (${describe(e)}); using the embedded busybox`);
      return buildBusybox(store);
    }
    throw e;
  }
}

async function pullFrom(store: Store, ref: Reference, opts: PullOptions): Promise<ImageRecord> {
  const progress = opts.progress ?? silent;
  const creds = findCredentials(ref.registry, opts.authfile);
  const mirror = opts.mirrors?.[ref.registry];
  const reg = new Registry(ref.registry, {
    ...(mirror === undefined ? {} : { endpoint: mirror }),
    ...(opts.tlsVerify === undefined ? {} : { tlsVerify: opts.tlsVerify }),
    ...(creds === undefined ? {} : { credentials: creds }),
  });
  const repo = ref.repository;
  using _w = await store.writerLock();
  const top = await reg.manifest(repo, ref.digest ?? ref.tag ?? "latest");
  let doc = parseManifestOrIndex(top.bytes, `manifest of "${formatReference(ref)}"`, top.contentType);
  let manifestDigest = top.digest;
  let manifestBytes = top.bytes;
  if (doc.kind === "index") {
    const want = opts.platform ?? hostPlatform();
    const d: Descriptor = selectPlatform(doc, want, `image "${formatReference(ref)}"`);
    progress.line(`${formatReference(ref)}: platform ${formatPlatform(want)} → ${shortId(d.digest)}`);
    const m = await reg.manifest(repo, d.digest);
    manifestBytes = m.bytes;
    manifestDigest = m.digest;
    doc = parseManifestOrIndex(m.bytes, `manifest "${d.digest}"`, m.contentType);
    if (doc.kind !== "manifest")
      throw new LeopardError("unsupported", `index "${d.digest}" points at another index`);
  }
  const manifest = doc;
  await store.ingest({ digest: manifestDigest, size: manifestBytes.length }, async function* () {
    yield manifestBytes;
  });
  // A blob's bytes, counted for the progress display and resumed where a connection breaks.
  const blobStream = (d: Descriptor): AsyncIterable<Uint8Array> => {
    const id = shortId(d.digest);
    progress.start(id, d.size);
    const body = reg.blob(repo, d.digest, {
      size: d.size,
      onResume: (at, cause) => progress.line(`${id}: ${describe(cause)}; resuming at byte ${at}`),
    });
    return counted(body, (n) => progress.add(id, n));
  };
  const retrying = async (d: Descriptor, fetch: () => Promise<{ fetched: boolean }>): Promise<void> => {
    const id = shortId(d.digest);
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await fetch();
        progress.done(id, r.fetched ? "done" : "already present");
        return;
      } catch (e) {
        // A connection that keeps failing, or a short or corrupt body, which may be the
        // connection's fault too: worth another try from the start.
        const transient =
          !(e instanceof LeopardError) || e.code === "system" || /truncated|wrong content/.test(e.message);
        if (!transient || attempt >= 3) throw e;
        progress.line(`${id}: ${describe(e)}; retrying`);
      }
    }
  };
  const config = manifest.config;
  await retrying(config, () =>
    store.ingest({ digest: config.digest, size: config.size }, () => blobStream(config), "config"),
  );
  const parsed = parseConfig(store.readBlob(config.digest), `config "${config.digest}"`);
  if (parsed.rootfs.diff_ids.length !== manifest.layers.length) {
    throw new LeopardError(
      "invalid-argument",
      `manifest "${manifestDigest}" and its config disagree on the number of layers`,
    );
  }
  // Each layer is unpacked while it downloads, the layers side by side; blob and snapshot
  // become visible only once both are verified.
  const diffIds = parsed.rootfs.diff_ids;
  const chain = chainIds(diffIds);
  const indexed = manifest.layers.map((l, i) => ({ l, i }));
  await pool(indexed, opts.concurrency ?? 3, async ({ l, i }) => {
    const snap = {
      chainId: chain[i] as Digest,
      parent: i === 0 ? null : (chain[i - 1] as Digest),
      diffId: diffIds[i] as Digest,
    };
    await retrying(l, () => store.fetchLayer({ digest: l.digest, size: l.size }, snap, () => blobStream(l)));
  });
  const tags = ref.tag === undefined ? [] : [formatReference(ref)];
  const img = await commitManifest(store, manifestDigest as Digest, {
    tags,
    onLayer: (d, s) => {
      if (s === "done") progress.done(shortId(d), "unpacked");
    },
  });
  progress.close();
  return img;
}
