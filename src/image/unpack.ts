// Layer unpacking: a tar stream (plain, gzip or zstd; xz for imports) into one snapshot
// directory in overlayfs form. node-tar parses (after compression.ts: gzip inflated in-process,
// zstd and xz by a child); writing is layer-writer.ts's, which keeps every entry inside the target.
import { Parser, type ReadEntry } from "tar";
import { describe, LeopardError } from "../util/errors.ts";
import { decompress } from "./compression.ts";
import { type Digest, Hasher } from "./digest.ts";
import { LayerError, type UnpackOptions, Writer } from "./layer-writer.ts";
import { PaxTracker, paxRecords } from "./pax-track.ts";

export { entryComponents, LayerError, type UnpackOptions } from "./layer-writer.ts";

export interface UnpackResult {
  /** sha256 of the uncompressed tar: the layer's DiffID. */
  diffId: Digest;
  /** Uncompressed size in bytes. */
  size: number;
  entries: number;
}

/** The "SCHILY.xattr.*" records of a pax extended header body, values as bytes. */
export function paxXattrs(body: Uint8Array): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const [k, v] of paxRecords(body)) if (k.startsWith("SCHILY.xattr.")) out.set(k.slice(13), v);
  return out;
}

/**
 * Unpacks a layer (a stream of its bytes, or a file path) into dest (an existing, empty
 * directory) and returns its DiffID. On error,
 * dest is left partly written: the caller unpacks into a temporary directory and removes it.
 */
export async function unpackLayer(
  source: AsyncIterable<Uint8Array> | string,
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
