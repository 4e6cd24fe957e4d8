// The messages between a layer unpack on a worker thread (unpack-worker.ts) and the thread that
// asked for it (unpack-thread.ts), one definition for both sides. Errors cross as plain data and
// are rebuilt as the same classes, so callers catch and match them as if unpacking ran in-thread.
import { type ErrorCode, LeopardError } from "../util/errors.ts";
import type { Digest } from "./digest.ts";
import { LayerError } from "./layer-writer.ts";

/** UnpackOptions without the warn callback, which cannot cross threads (warnings come as messages). */
export interface WireOptions {
  rootless?: boolean;
  overlayXattr?: "trusted" | "user";
}

/**
 * To a worker, for one unpack (job) among those it runs side by side: start (once, first), then
 * for a streamed source chunks and end, or abort. start carries the caller's environment: the
 * worker may outlive the command that started it (a warm `serve` worker runs several callers'
 * commands, each with its own), and PATH finds the decompressor.
 */
export type ToWorker = { job: number } & (
  | { kind: "start"; dest: string; opts: WireOptions; env: Record<string, string>; path?: string }
  | { kind: "chunk"; bytes: Uint8Array }
  | { kind: "end" }
  | { kind: "abort" }
);

/**
 * From a worker, for one job: acks and warnings while it works, then done or failed (last, once).
 * An ack says a chunk of that many bytes was taken by the unpacker: the sender may send that much
 * more. After abort (the source failed), the worker stops, cleans up and reports failed; the
 * caller throws the source's own error. "ready" (job 0) comes once, when the worker has loaded.
 */
export type FromWorker = { job: number } & (
  | { kind: "ready" }
  | { kind: "ack"; bytes: number }
  | { kind: "warn"; message: string }
  | { kind: "done"; diffId: Digest; size: number; entries: number }
  | { kind: "failed"; error: WireError }
);

export interface WireError {
  name: string;
  message: string;
  code?: ErrorCode;
  errno?: number;
  syscall?: string;
  path?: string;
  /** The cause's message: its class and stack stay behind. */
  cause?: string;
}

export function errorToWire(err: unknown): WireError {
  if (!(err instanceof Error)) return { name: "Error", message: String(err) };
  const out: WireError = { name: err.name, message: err.message };
  if (err instanceof LeopardError) {
    out.code = err.code;
    if (err.errno !== undefined) out.errno = err.errno;
    if (err.syscall !== undefined) out.syscall = err.syscall;
    if (err.path !== undefined) out.path = err.path;
  }
  if (err.cause !== undefined) out.cause = err.cause instanceof Error ? err.cause.message : String(err.cause);
  return out;
}

/** The error as the unpacker threw it: LayerError, LeopardError with its code, or a plain Error. */
export function errorFromWire(w: WireError): Error {
  const cause = w.cause === undefined ? undefined : new Error(w.cause);
  if (w.name === "LayerError") return new LayerError(w.message, cause);
  if (w.code !== undefined) {
    const e = new LeopardError(w.code, w.message, {
      ...(cause === undefined ? {} : { cause }),
      ...(w.errno === undefined ? {} : { errno: w.errno }),
      ...(w.syscall === undefined ? {} : { syscall: w.syscall }),
      ...(w.path === undefined ? {} : { path: w.path }),
    });
    // A subclass this side does not know keeps its name at least.
    if (w.name !== "LeopardError") e.name = w.name;
    return e;
  }
  const e = new Error(w.message, cause === undefined ? undefined : { cause });
  e.name = w.name;
  return e;
}
