// Decompression by magic number: gzip and zstd through node:zlib (built into Bun), xz through
// the system's xz (rootfs imports only), anything else passed through as plain tar.
import { PassThrough, pipeline, Readable, type Transform } from "node:stream";
import { createGunzip, createZstdDecompress } from "node:zlib";
import { LeopardError } from "../util/errors.ts";

export type Compression = "none" | "gzip" | "zstd" | "xz";

export function detectCompression(head: Uint8Array): Compression {
  const is = (...b: number[]) => b.every((v, i) => head[i] === v);
  if (is(0x1f, 0x8b)) return "gzip";
  if (is(0x28, 0xb5, 0x2f, 0xfd)) return "zstd";
  if (is(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return "xz";
  return "none";
}

/** Peeks the first bytes of source and yields the decompressed stream. */
export async function* decompress(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  let head: Uint8Array = new Uint8Array(0);
  let done = false;
  while (head.length < 6 && !done) {
    const r = await it.next();
    if (r.done) done = true;
    else head = concat(head, r.value);
  }
  async function* rest(): AsyncGenerator<Uint8Array> {
    if (head.length > 0) yield head;
    if (done) return;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  }
  const kind = detectCompression(head);
  if (kind === "none") {
    yield* rest();
    return;
  }
  if (kind === "xz") {
    yield* xz(rest());
    return;
  }
  const z: Transform = kind === "gzip" ? createGunzip() : createZstdDecompress();
  const out = new PassThrough();
  pipeline(Readable.from(rest()), z, out, () => {});
  try {
    for await (const c of out) yield c as Uint8Array;
  } catch (e) {
    throw new LeopardError("invalid-argument", `${kind} stream is corrupt: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

async function* xz(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const p = Bun.spawn(["xz", "-dc"], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const feed = (async () => {
    try {
      for await (const c of input) {
        p.stdin.write(c);
        await p.stdin.flush();
      }
    } finally {
      await p.stdin.end();
    }
  })();
  let finished = false;
  try {
    for await (const c of p.stdout) yield c;
    await feed;
    if ((await p.exited) !== 0) {
      const err = (await new Response(p.stderr).text()).trim();
      throw new LeopardError("invalid-argument", `xz stream is corrupt: ${err}`);
    }
    finished = true;
  } finally {
    // The consumer stopped early (a refused layer): xz must not linger.
    if (!finished && p.exitCode === null) p.kill();
    await feed.catch(() => undefined);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
