import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { gzipSync } from "node:zlib";
import { decompress } from "./compression.ts";

async function collect(src: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of src) parts.push(c);
  return new Uint8Array(Buffer.concat(parts));
}

async function* chunked(b: Uint8Array, size = 1000): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

/** Incompressible bytes, so that a gzip of them is long. */
function noise(n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe("gzip, inflated in-process", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(`${tmpdir()}/leopard-compression-`);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("a stream and a file give the original bytes", async () => {
    const data = noise(3 << 20);
    const gz = gzipSync(data);
    expect(await collect(decompress(chunked(gz, 7000)))).toEqual(data);
    writeFileSync(`${dir}/x.gz`, gz);
    expect(await collect(decompress(`${dir}/x.gz`))).toEqual(data);
  });

  test("several members inflate to their concatenation, as gzip -d does", async () => {
    const a = noise(5000);
    const b = new TextEncoder().encode("second member");
    const gz = Buffer.concat([gzipSync(a), gzipSync(b)]);
    expect(await collect(decompress(chunked(gz)))).toEqual(new Uint8Array(Buffer.concat([a, b])));
  });

  test("a truncated stream is refused as corrupt", async () => {
    const gz = gzipSync(noise(100_000));
    await expect(collect(decompress(chunked(gz.subarray(0, gz.length - 5000))))).rejects.toThrow(
      "gzip stream is corrupt",
    );
  });

  test("damaged bytes are refused as corrupt", async () => {
    const gz = gzipSync(noise(100_000));
    gz.fill(0x55, 4000, 4100);
    await expect(collect(decompress(chunked(gz)))).rejects.toThrow("gzip stream is corrupt");
  });

  test("a source that fails reports its own error, not a corrupt stream", async () => {
    const gz = gzipSync(noise(200_000));
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield gz.subarray(0, 50_000);
      throw new Error("connection reset");
    }
    await expect(collect(decompress(failing()))).rejects.toThrow("connection reset");
  });

  test("a consumer that stops early stops the reading of the source", async () => {
    const gz = gzipSync(noise(8 << 20));
    let read = 0;
    async function* counting(): AsyncGenerator<Uint8Array> {
      for await (const c of chunked(gz, 64 << 10)) {
        read += c.length;
        yield c;
      }
    }
    for await (const c of decompress(counting())) {
      expect(c.length).toBeGreaterThan(0);
      break;
    }
    // The inflater takes what it buffers, not the whole source.
    expect(read).toBeLessThan(gz.length / 2);
  });
});
