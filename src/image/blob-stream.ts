// A blob download that survives broken connections: when the body fails (or ends short of the
// announced size) the download continues from the bytes already delivered with an HTTP Range
// request ("Range: bytes=N-"). A server that answers the range with 200 sends the whole blob
// again: its first N bytes, which the consumer already has, are dropped. The consumer sees one
// continuous stream and verifies the digest over all of it; nothing here trusts the bytes.
import { describe, LeopardError } from "../util/errors.ts";

/** One response body and the offset its first byte is at (0 unless a range was honoured). */
export interface BlobPart {
  body: AsyncIterable<Uint8Array>;
  start: number;
}

export interface ResumeOptions {
  /** Expected size: a body ending before it is a broken connection, not the end. */
  size?: number;
  /** Body failures tolerated in a row without progress before giving up (default 4). */
  attempts?: number;
  /** Called before each resumption, with the bytes delivered so far. */
  onResume?: (offset: number, cause: unknown) => void;
}

/**
 * The bytes of a blob, fetched with open(offset) and resumed there after a failure. open
 * itself retries what it can (statuses, refused connections) and throws when it gives up.
 */
export async function* resumable(
  open: (offset: number) => Promise<BlobPart>,
  opts: ResumeOptions = {},
): AsyncGenerator<Uint8Array> {
  const attempts = opts.attempts ?? 4;
  let got = 0;
  let failures = 0;
  for (;;) {
    const part = await open(got);
    if (part.start > got) {
      throw new LeopardError("protocol", `the registry resumed a download at byte ${part.start}, not ${got}`);
    }
    let skip = got - part.start;
    const before = got;
    const it = part.body[Symbol.asyncIterator]();
    let cause: unknown;
    try {
      for (;;) {
        let r: IteratorResult<Uint8Array>;
        try {
          r = await it.next();
        } catch (e) {
          cause = e;
          break;
        }
        if (r.done) break;
        let c = r.value;
        if (skip > 0) {
          if (c.length <= skip) {
            skip -= c.length;
            continue;
          }
          c = c.subarray(skip);
          skip = 0;
        }
        got += c.length;
        yield c;
      }
    } finally {
      // Stopped early (by the consumer, or a failure): let the connection go.
      await it.return?.().catch(() => undefined);
    }
    if (cause === undefined) {
      // A clean end short of the size: Bun's fetch reports a connection closed early that way.
      // Without progress it is the blob's real end, and the consumer finds it too short.
      if (opts.size === undefined || got >= opts.size || got === before) return;
      cause = new Error(`the connection closed after ${got} of ${opts.size} bytes`);
    }
    failures = got > before ? 1 : failures + 1;
    if (failures > attempts) {
      throw new LeopardError("system", `download failed at byte ${got}: ${describe(cause)}`, { cause });
    }
    opts.onResume?.(got, cause);
    await Bun.sleep(Math.min(2000, 100 * 2 ** (failures - 1)));
  }
}
