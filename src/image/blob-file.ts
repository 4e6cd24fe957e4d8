// A blob being written to a temporary file in the store: hashed as it is written, refused as
// soon as it grows past its announced size, checked against its digest, flushed to disk, and
// only then renamed into place by the store.
import { closeSync, fsync, openSync, writeSync } from "node:fs";
import { LeopardError } from "../util/errors.ts";
import { type Digest, Hasher } from "./digest.ts";

export class BlobFile {
  readonly path: string;
  readonly #fd: number;
  readonly #h = new Hasher();
  readonly #limit: { size: number; what: string } | undefined;
  #closed = false;

  /** Creates path (it must not exist); limit: the size announced for the blob. */
  constructor(path: string, limit?: { size: number; what: string }) {
    this.path = path;
    this.#limit = limit;
    this.#fd = openSync(path, "wx", 0o600);
  }

  get size(): number {
    return this.#h.size;
  }

  write(c: Uint8Array): void {
    this.#h.update(c);
    if (this.#limit !== undefined && this.#h.size > this.#limit.size) {
      throw new LeopardError(
        "invalid-argument",
        `${this.#limit.what} is larger than the ${this.#limit.size} bytes announced`,
      );
    }
    let off = 0;
    while (off < c.length) off += writeSync(this.#fd, c, off);
  }

  /** The digest of everything written (once: the hash is finished). */
  digest(): Digest {
    return this.#h.digest();
  }

  /** Refuses the blob unless it has the expected size and digest. */
  verify(expected: { digest: Digest; size?: number }, what: string): void {
    const d = expected.digest;
    if (expected.size !== undefined && this.size !== expected.size) {
      throw new LeopardError(
        "invalid-argument",
        `${what} "${d}" is ${this.size} bytes where ${expected.size} were expected (truncated download?)`,
      );
    }
    const got = this.digest();
    if (got !== d)
      throw new LeopardError(
        "invalid-argument",
        `${what} "${d}" has the wrong content: its digest is "${got}"`,
      );
  }

  /** Flushes the data to disk off the main thread (other downloads keep going). */
  sync(): Promise<void> {
    return new Promise((resolve, reject) => fsync(this.#fd, (err) => (err ? reject(err) : resolve())));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Streams chunks into a new file, hashing them; refuses to grow past limit.size. */
export async function streamToFile(
  path: string,
  source: AsyncIterable<Uint8Array>,
  limit: { size: number; what: string } | undefined,
): Promise<BlobFile> {
  const f = new BlobFile(path, limit);
  try {
    for await (const c of source) f.write(c);
    await f.sync();
  } finally {
    f.close();
  }
  return f;
}
