// Reading a file as a stream of large chunks with read(2): several times faster here than
// Bun.file().stream(), whose small chunks dominate unpacking time.
import { closeSync, openSync, readSync } from "node:fs";

export const CHUNK = 1 << 20;

export async function* readChunks(path: string, chunk = CHUNK): AsyncGenerator<Uint8Array> {
  const fd = openSync(path, "r");
  try {
    for (;;) {
      // A fresh buffer each time: consumers (the tar parser) may keep a chunk.
      const buf = Buffer.allocUnsafe(chunk);
      const n = readSync(fd, buf, 0, chunk, null);
      if (n === 0) return;
      yield n === chunk ? buf : buf.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

/** The whole of an open file from its start (pread: each call starts over); the fd stays open. */
export async function* readFdChunks(fd: number, chunk = CHUNK): AsyncGenerator<Uint8Array> {
  for (let pos = 0; ; ) {
    const buf = Buffer.allocUnsafe(chunk);
    const n = readSync(fd, buf, 0, chunk, pos);
    if (n === 0) return;
    pos += n;
    yield n === chunk ? buf : buf.subarray(0, n);
  }
}
