// Decompression by magic number. gzip, nearly every registry layer, in this process with the
// zlib Bun links (node:zlib): measured on the bench image's layers (bench/image.ts, 186 MB
// inflated) it takes 0.66 s of CPU where a `gzip -dc` child took 1.27 s, plus the copies through
// its two pipes. zstd and xz in a child process (the system's zstd and xz, as GNU tar does);
// anything else passed through as plain tar. A source given as a file path goes to a child as
// its stdin directly, without passing through JavaScript.
import { closeSync, openSync, readSync } from "node:fs";
import { createGunzip } from "node:zlib";
import { spawnTool } from "../sys/host-tool.ts";
import { pipe } from "../sys/io.ts";
import { describe, LeopardError } from "../util/errors.ts";
import { readChunks } from "./file-stream.ts";

export type Compression = "none" | "gzip" | "zstd" | "xz";

export function detectCompression(head: Uint8Array): Compression {
  const is = (...b: number[]) => b.every((v, i) => head[i] === v);
  if (is(0x1f, 0x8b)) return "gzip";
  if (is(0x28, 0xb5, 0x2f, 0xfd)) return "zstd";
  if (is(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return "xz";
  return "none";
}

const DECOMPRESSOR: Record<Exclude<Compression, "none" | "gzip">, string[]> = {
  zstd: ["zstd", "-dcq"],
  xz: ["xz", "-dc"],
};

function fileHead(path: string): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const b = new Uint8Array(6);
    return b.subarray(0, readSync(fd, b, 0, 6, 0));
  } finally {
    closeSync(fd);
  }
}

/** Peeks the first bytes of source (chunks, or a file path) and yields the decompressed stream. */
export async function* decompress(source: AsyncIterable<Uint8Array> | string): AsyncGenerator<Uint8Array> {
  if (typeof source === "string") {
    const kind = detectCompression(fileHead(source));
    if (kind === "none") yield* readChunks(source);
    else if (kind === "gzip") yield* gunzip(readChunks(source));
    else yield* viaChild(kind, Bun.file(source));
    return;
  }
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
  if (kind === "none") yield* rest();
  else if (kind === "gzip") yield* gunzip(rest());
  else yield* viaChild(kind, rest());
}

/** Output chunks of the inflater: large ones cost less per byte in zlib and in the tar parser. */
const GUNZIP_CHUNK = 1 << 20;

/** Inflates a gzip stream (one member or several, as gzip -d does). */
async function* gunzip(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const z = createGunzip({ chunkSize: GUNZIP_CHUNK });
  let stopped = false;
  let inputError: unknown;
  // Resolves when the inflater wants more input, or is gone (finished, failed or destroyed).
  const ready = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        z.off("drain", done);
        z.off("close", done);
        resolve();
      };
      z.on("drain", done);
      z.on("close", done);
    });
  const feed = (async () => {
    try {
      for await (const c of input) {
        if (stopped || z.destroyed) return;
        if (!z.write(c)) await ready();
      }
      z.end();
    } catch (e) {
      inputError = e;
      z.destroy();
    }
  })();
  try {
    try {
      for await (const c of z) yield c as Uint8Array;
    } catch (e) {
      if (inputError !== undefined) throw inputError;
      throw new LeopardError("invalid-argument", `gzip stream is corrupt: ${describe(e)}`);
    }
    await feed;
    if (inputError !== undefined) throw inputError;
  } finally {
    // The consumer stopped early (a refused layer) or something failed: no more feeding.
    stopped = true;
    z.destroy();
    await feed;
  }
}

async function* viaChild(
  kind: Exclude<Compression, "none" | "gzip">,
  input: AsyncIterable<Uint8Array> | ReturnType<typeof Bun.file>,
): AsyncGenerator<Uint8Array> {
  const fromFile = !(Symbol.asyncIterator in input);
  // stdout is a pipe of our own (1 MiB) read as a file stream: large chunks, where Bun's
  // stdout stream hands out small ones, each costing an allocation.
  const [out, outW] = pipe(1 << 20);
  let p: Bun.Subprocess<"pipe" | Bun.BunFile, number, "pipe">;
  try {
    // (hostToolEnv reads this thread's process.env: on a worker thread (unpack-thread.ts) Bun.spawn
    // without an env would build the child's from the process's initial one.)
    p = spawnTool(DECOMPRESSOR[kind], {
      stdin: fromFile ? (input as Bun.BunFile) : "pipe",
      stdout: outW,
      stderr: "pipe",
    });
  } catch (e) {
    closeSync(out);
    throw e;
  } finally {
    closeSync(outW);
  }
  let stopped = false;
  const feed = (async () => {
    if (fromFile) return;
    const sink = p.stdin as import("bun").FileSink;
    try {
      for await (const c of input as AsyncIterable<Uint8Array>) {
        if (stopped) break;
        sink.write(c);
        await sink.flush();
      }
    } finally {
      await sink.end();
    }
  })();
  // The child's stderr is drained as it comes, so a chatty child never blocks on it.
  const stderr = new Response(p.stderr).text();
  let finished = false;
  try {
    for await (const c of Bun.file(out).stream()) yield c;
    await feed;
    if ((await p.exited) !== 0) {
      throw new LeopardError("invalid-argument", `${kind} stream is corrupt: ${(await stderr).trim()}`);
    }
    finished = true;
  } finally {
    // The consumer stopped early (a refused layer) or the input failed: the child must not linger.
    stopped = true;
    if (!finished && p.exitCode === null) p.kill();
    await feed.catch(() => undefined);
    closeSync(out);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
