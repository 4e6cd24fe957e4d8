import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { gzipSync } from "node:zlib";
import { LeopardError } from "../util/errors.ts";
import { tarBytes } from "./tar-write.ts";
import { describeTree } from "./testing.ts";
import { LayerError, unpackLayer } from "./unpack.ts";
import { UnpackPool, unpackInWorker, WINDOW, workerScript } from "./unpack-thread.ts";

let dir: string;
let outside: string;
beforeEach(() => {
  dir = mkdtempSync(`${tmpdir()}/leopard-img-thread-`);
  outside = mkdtempSync(`${tmpdir()}/leopard-img-outside-`);
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

async function* chunks(b: Uint8Array, size = 777): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

const text = (s: string) => new TextEncoder().encode(s);

/** A worker written inline (a blob: URL), speaking the protocol of unpack-wire.ts. */
function fakeWorker(source: string): string {
  return URL.createObjectURL(new Blob([source], { type: "application/javascript" }));
}

describe("unpackInWorker", () => {
  test("finds its worker beside its source", () => {
    expect(workerScript()).toEndWith("/src/image/unpack-worker.ts");
  });

  test("gives the DiffID, size, entries and tree that unpacking in-thread gives", async () => {
    const layer = gzipSync(
      await tarBytes([
        { name: "etc", type: "dir", mode: 0o755, mtime: 1000 },
        { name: "etc/hostname", type: "file", data: text("box\n"), mode: 0o640, mtime: 2000 },
        { name: "bin/sh", type: "file", data: new Uint8Array(300_000).fill(3), mode: 0o755 },
        { name: "bin/ash", type: "link", linkname: "bin/sh" },
        { name: "etc/alias", type: "symlink", linkname: "/etc/hostname" },
      ]),
    );
    const inThread = await unpackLayer(chunks(layer), outside);
    const inWorker = await unpackInWorker(chunks(layer), dir);
    expect(inWorker).toEqual(inThread);
    expect(describeTree(dir)).toEqual(describeTree(outside));
  });

  test("unpacks a file path in the worker", async () => {
    const tar = await tarBytes([{ name: "a/b", type: "file", data: text("from a file") }]);
    writeFileSync(`${outside}/layer.tar.gz`, gzipSync(tar));
    const r = await unpackInWorker(`${outside}/layer.tar.gz`, dir);
    expect(r.entries).toBe(1);
    expect(r.size).toBe(tar.length);
    expect(readFileSync(`${dir}/a/b`, "utf8")).toBe("from a file");
  });

  test("leaves the caller's chunks as they were (it sends copies)", async () => {
    const tar = await tarBytes([{ name: "f", type: "file", data: text("x") }]);
    const kept = new Uint8Array(tar);
    await unpackInWorker(
      (async function* () {
        yield kept;
      })(),
      dir,
    );
    expect(kept).toEqual(new Uint8Array(tar));
  });

  test("passes the unpacker's warnings to opts.warn", async () => {
    const warnings: string[] = [];
    const tar = await tarBytes([{ name: "d", type: "dir", xattrs: { "trusted.overlay.redirect": "/x" } }]);
    await unpackInWorker(chunks(tar), dir, { warn: (m) => warnings.push(m) });
    expect(warnings.join()).toContain("trusted.overlay.redirect");
  });
});

describe("errors raised in the worker arrive as the unpacker's own", () => {
  test("a hostile layer is refused with a LayerError naming the entry, and nothing lands outside", async () => {
    const tar = await tarBytes([
      { name: "link", type: "symlink", linkname: outside },
      { name: "link/pwned", type: "file", data: text("x") },
    ]);
    const err = await unpackInWorker(chunks(gzipSync(tar)), dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LayerError);
    expect((err as LayerError).code).toBe("invalid-argument");
    expect((err as LayerError).message).toBe(
      'layer entry "link/pwned" would be written through the symlink "link"',
    );
    expect(existsSync(`${outside}/pwned`)).toBe(false);
  });

  test("a stream that is not a tar, with node-tar's reason as the cause", async () => {
    const junk = new Uint8Array(4096).map((_, i) => (i * 7 + 3) & 0xff);
    const err = await unpackInWorker(chunks(junk), dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LayerError);
    expect((err as Error).message).toStartWith("layer is not a valid tar archive");
    expect((err as Error).cause).toBeInstanceOf(Error);
  });

  test("a corrupt gzip stream, as a LeopardError with its code", async () => {
    const gz = gzipSync(await tarBytes([{ name: "a", type: "file", data: new Uint8Array(100000).fill(7) }]));
    gz.fill(0x55, 40, 120);
    const err = await unpackInWorker(chunks(new Uint8Array(gz)), dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeopardError);
    expect((err as LeopardError).code).toBe("invalid-argument");
  });

  test("a source that fails is reported with its own error, after the worker stopped", async () => {
    const tar = await tarBytes([{ name: "big", type: "file", data: new Uint8Array(2_000_000).fill(1) }]);
    const gz = gzipSync(tar);
    const broken = new LeopardError("system", "connection reset");
    const source = (async function* () {
      yield* chunks(gz.subarray(0, gz.length >> 1), 4096);
      throw broken;
    })();
    await expect(unpackInWorker(source, dir)).rejects.toBe(broken);
  });

  test("a worker that dies is reported, not waited for", async () => {
    const pool = new UnpackPool(
      fakeWorker(`addEventListener("message", () => { throw new Error("boom"); });`),
      1,
    );
    try {
      const err = await pool.unpack(chunks(text("x")), dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LeopardError);
      expect((err as LeopardError).code).toBe("system");
      expect((err as Error).message).toContain("the layer unpack thread failed");
      expect(pool.workers).toBe(0);
    } finally {
      pool.close();
    }
  });
});

describe("UnpackPool", () => {
  test("runs unpacks side by side on at most its size of workers, and keeps them for the next", async () => {
    const pool = new UnpackPool(workerScript() as string, 2);
    try {
      const layers = await Promise.all(
        [0, 1, 2].map(async (i) =>
          gzipSync(await tarBytes([{ name: `f${i}`, type: "file", data: text(`${i}`) }])),
        ),
      );
      const dests = layers.map((_, i) => mkdtempSync(`${dir}/d${i}-`));
      const results = await Promise.all(layers.map((l, i) => pool.unpack(chunks(l), dests[i] as string)));
      expect(results.map((r) => r.entries)).toEqual([1, 1, 1]);
      expect(dests.map((d, i) => readFileSync(`${d}/f${i}`, "utf8"))).toEqual(["0", "1", "2"]);
      expect(pool.workers).toBe(2);
      await pool.unpack(chunks(layers[0] as Uint8Array), mkdtempSync(`${dir}/again-`));
      expect(pool.workers).toBe(2);
    } finally {
      pool.close();
    }
  });

  test("a kept worker finds the decompressor on the system's PATH, whatever PATH its caller has", async () => {
    // A warm `serve` worker runs one caller's command after another's; zstd is a child process (gzip
    // is inflated in-process), a host tool: a caller's PATH never chooses which program it is.
    const pool = new UnpackPool(workerScript() as string, 1);
    const layer = Bun.zstdCompressSync(await tarBytes([{ name: "f", type: "file", data: text("x") }]));
    const path = process.env["PATH"];
    try {
      await pool.unpack(chunks(layer), mkdtempSync(`${dir}/first-`));
      process.env["PATH"] = `${outside}/empty`;
      const second = mkdtempSync(`${dir}/second-`);
      await pool.unpack(chunks(layer), second);
      expect(readFileSync(`${second}/f`, "utf8")).toBe("x");
      expect(pool.workers).toBe(1);
    } finally {
      process.env["PATH"] = path;
      pool.close();
    }
  });

  test("reads a source at most a window ahead of what the worker has taken", async () => {
    // This worker takes each chunk at once and says so in a warning after its ack; the source
    // checks, each time it is read, that the bytes sent but not yet taken stay within the window.
    const pool = new UnpackPool(
      fakeWorker(`
        addEventListener("message", (ev) => {
          const m = ev.data;
          if (m.kind === "chunk") {
            postMessage({ job: m.job, kind: "ack", bytes: m.bytes.byteLength });
            postMessage({ job: m.job, kind: "warn", message: String(m.bytes.byteLength) });
          }
          if (m.kind === "end") postMessage({ job: m.job, kind: "done", diffId: "sha256:x", size: 0, entries: 0 });
        });`),
      1,
    );
    const CHUNK = 64 << 10;
    let read = 0;
    let taken = 0;
    let ahead = 0;
    const source = (async function* () {
      for (let i = 0; i < 10 * (WINDOW / CHUNK); i++) {
        // Acks are counted here one message late: two chunks of slack.
        ahead = Math.max(ahead, read - taken);
        read += CHUNK;
        yield new Uint8Array(CHUNK);
      }
    })();
    try {
      await pool.unpack(source, dir, {
        warn: (m) => {
          taken += Number(m);
        },
      });
    } finally {
      pool.close();
    }
    expect(read).toBe(10 * WINDOW);
    expect(ahead).toBeLessThanOrEqual(WINDOW + 2 * CHUNK);
  });
});
