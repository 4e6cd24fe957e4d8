// unpackLayer on worker threads: same arguments, same result, same errors. A pull unpacks its
// layers side by side while they download, but tar parsing and file creation (node-tar, then
// open/write/symlink/mkdir syscalls one after the other) are JavaScript on whichever thread runs
// them: on the main thread, all layers and the downloads took turns on one core (in a 3-layer
// pull the main thread was on CPU for 5-6.5 s of a 6-8 s wall time, most of it in the kernel
// creating files). Workers spread them over the cores, each inflating its layers' gzip itself
// (compression.ts).
//
// The download stays on the calling thread (with the blob file it is teed into) and the
// compressed chunks go over, copied once into buffers of our own and transferred, never more
// than WINDOW bytes unacknowledged per unpack: a slow unpack slows its download rather than
// piling it up in memory.
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { callerPid } from "../sys/caller.ts";
import { LeopardError } from "../util/errors.ts";
import { bundled, bundlePath } from "../util/layout.ts";
import type { UnpackOptions, UnpackResult } from "./unpack.ts";
import { errorFromWire, type FromWorker, type ToWorker, type WireOptions } from "./unpack-wire.ts";

/** Compressed bytes sent to a worker for one unpack and not yet taken by its unpacker. */
export const WINDOW = 4 << 20;

/**
 * The worker's entry: beside this file when running from sources; when this module is inlined in
 * a bundle (build/cli/leopard.js, or installed lib/leopard/leopard.js), beside the bundle, where
 * make builds unpack-worker.js.
 */
export function workerScript(): string | undefined {
  const path = bundled()
    ? bundlePath("unpack-worker")
    : fileURLToPath(new URL("./unpack-worker.ts", import.meta.url));
  return existsSync(path) ? path : undefined;
}

interface Job {
  message(m: FromWorker): void;
  crashed(err: Error): void;
}

interface Slot {
  worker: Worker;
  jobs: Map<number, Job>;
  /** Stops the worker once it has been idle for idleMs. */
  idle?: ReturnType<typeof setTimeout>;
  /** Settles when the worker has loaded (or died first). */
  loaded: Promise<void>;
}

/**
 * Up to `size` workers, started when first needed. Each one compiles the unpacker anew (cold, it
 * costs more CPU than the unpacking it saves on a small layer), so an idle worker is kept for
 * idleMs, for the next layer or the next pull of a long-lived caller, without keeping the process
 * alive. Each unpack goes to an idle worker, a new one, or else the least busy. A warmed pool
 * (see warm) starts every worker at once, keeps them for good and never starts another.
 */
export class UnpackPool {
  readonly #script: string;
  readonly #size: number;
  readonly #idleMs: number;
  readonly #slots: Slot[] = [];
  #nextJob = 1;
  #fixed = false;

  constructor(script: string, size: number, idleMs = 30_000) {
    this.#script = script;
    this.#size = size;
    this.#idleMs = idleMs;
  }

  /** Workers started so far and not dead. */
  get workers(): number {
    return this.#slots.length;
  }

  /** Whether warm() made this pool: its workers were all started then, and no other will be. */
  get fixed(): boolean {
    return this.#fixed;
  }

  /**
   * Starts every worker now, waits until each has loaded, and keeps them for good: later unpacks
   * only use these (in a `serve` worker, threads started while fds 0-2 are /dev/null, see
   * unpackInWorker). Those that died meanwhile are not replaced.
   */
  async warm(): Promise<void> {
    this.#fixed = true;
    while (this.#slots.length < this.#size) this.#start();
    // Kept alive meanwhile: nothing else may hold the event loop open for the wait.
    for (const s of this.#slots) {
      clearTimeout(s.idle);
      s.worker.ref();
    }
    try {
      await Promise.all(this.#slots.map((s) => s.loaded));
    } finally {
      for (const s of this.#slots) if (s.jobs.size === 0) s.worker.unref();
    }
  }

  #slot(): Slot {
    const idle = this.#slots.find((s) => s.jobs.size === 0);
    if (idle !== undefined) return idle;
    if (this.#slots.length < this.#size && !this.#fixed) return this.#start();
    const least = this.#slots.reduce<Slot | undefined>(
      (a, b) => (a === undefined || b.jobs.size < a.jobs.size ? b : a),
      undefined,
    );
    if (least === undefined) throw new LeopardError("system", "the layer unpack threads have all failed");
    return least;
  }

  #start(): Slot {
    const loaded = Promise.withResolvers<void>();
    const slot: Slot = {
      worker: new Worker(this.#script, { name: "leopard-unpack" }),
      jobs: new Map(),
      loaded: loaded.promise,
    };
    slot.worker.unref();
    const dead = (why: string) => {
      loaded.resolve();
      clearTimeout(slot.idle);
      const i = this.#slots.indexOf(slot);
      if (i >= 0) this.#slots.splice(i, 1);
      const err = new LeopardError("system", `the layer unpack thread failed: ${why}`);
      for (const job of slot.jobs.values()) job.crashed(err);
      slot.jobs.clear();
    };
    slot.worker.addEventListener("message", (ev: MessageEvent<FromWorker>) => {
      if (ev.data.kind === "ready") loaded.resolve();
      else slot.jobs.get(ev.data.job)?.message(ev.data);
    });
    slot.worker.addEventListener("error", (ev: ErrorEvent) => {
      dead(ev.message);
      slot.worker.terminate();
    });
    slot.worker.addEventListener("close", () => dead("it exited"));
    this.#slots.push(slot);
    return slot;
  }

  /** Stops every worker (their unpacks fail). */
  close(): void {
    for (const s of [...this.#slots]) s.worker.terminate();
  }

  /**
   * unpackLayer (see unpack.ts) on a worker. It settles only once the worker has stopped
   * touching dest, so the caller may remove dest right away on an error. A source that throws
   * makes this throw that same error, as unpackLayer does.
   */
  async unpack(
    source: AsyncIterable<Uint8Array> | string,
    dest: string,
    opts: UnpackOptions = {},
  ): Promise<UnpackResult> {
    const slot = this.#slot();
    const job = this.#nextJob++;
    let final: Extract<FromWorker, { kind: "done" | "failed" }> | undefined;
    let crashed: Error | undefined;
    let inflight = 0;
    let wake: (() => void) | undefined;
    const settled = Promise.withResolvers<void>();
    const over = () => final !== undefined || crashed !== undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    slot.jobs.set(job, {
      message: (m) => {
        switch (m.kind) {
          case "ack":
            inflight -= m.bytes;
            break;
          case "warn":
            opts.warn?.(m.message);
            break;
          case "ready":
            break;
          case "done":
          case "failed":
            final = m;
            settled.resolve();
            break;
        }
        notify();
      },
      crashed: (err) => {
        crashed ??= err;
        settled.resolve();
        notify();
      },
    });
    // While it has work, the worker keeps the process alive, as a pending read would.
    clearTimeout(slot.idle);
    if (slot.jobs.size === 1) slot.worker.ref();
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    const post = (m: ToWorker, transfer: ArrayBuffer[] = []) => {
      if (!over()) slot.worker.postMessage(m, transfer);
    };
    try {
      const wireOpts: WireOptions = {};
      if (opts.rootless !== undefined) wireOpts.rootless = opts.rootless;
      if (opts.overlayXattr !== undefined) wireOpts.overlayXattr = opts.overlayXattr;
      if (typeof source === "string") post({ job, kind: "start", dest, opts: wireOpts, env, path: source });
      else {
        post({ job, kind: "start", dest, opts: wireOpts, env });
        // Iterated by hand, never return()ed, as unpackLayer does: a caller may read the rest
        // of the source after a refusal (Store.fetchLayer does, to check the blob's digest).
        const it = source[Symbol.asyncIterator]();
        try {
          for (let r = await it.next(); !r.done && !over(); r = await it.next()) {
            // Our own copy to give away: the caller's chunk may share its buffer, or be kept.
            const bytes = new Uint8Array(r.value);
            inflight += bytes.byteLength;
            post({ job, kind: "chunk", bytes }, [bytes.buffer]);
            while (inflight >= WINDOW && !over())
              await new Promise<void>((resolve) => {
                wake = resolve;
              });
          }
          post({ job, kind: "end" });
        } catch (e) {
          // After the unpacker's own outcome, the source's failure changes nothing (as in-thread).
          if (!over()) {
            post({ job, kind: "abort" });
            await settled.promise;
            throw e;
          }
        }
      }
      await settled.promise;
      if (crashed !== undefined) throw crashed;
      if (final === undefined) throw new LeopardError("system", "the layer unpack thread did not report");
      if (final.kind === "failed") throw errorFromWire(final.error);
      return { diffId: final.diffId, size: final.size, entries: final.entries };
    } finally {
      slot.jobs.delete(job);
      if (slot.jobs.size === 0 && this.#slots.includes(slot)) {
        slot.worker.unref();
        if (!this.#fixed) {
          slot.idle = setTimeout(() => slot.worker.terminate(), this.#idleMs);
          slot.idle.unref();
        }
      }
    }
  }
}

let shared: UnpackPool | undefined;

/**
 * Workers for the process's unpacks: one per core, at most as many as the layers a pull fetches
 * at once. More threads than cores only add work (measured on 2 cores: 3 workers made a pull
 * slower than unpacking on the main thread, 2 made it faster): each cold worker compiles the
 * unpacker again, and the kernel's share of creating files grows with the threads at it.
 * LEOPARD_UNPACK_THREADS sets another number, for measuring.
 */
function sharedPool(script: string): UnpackPool {
  const asked = Number(process.env["LEOPARD_UNPACK_THREADS"]);
  const size = Number.isInteger(asked) && asked > 0 ? asked : Math.min(availableParallelism(), 3);
  shared ??= new UnpackPool(script, size);
  return shared;
}

/**
 * For a `serve` worker's warm-up, while its fds 0-2 are /dev/null: the process's pool, started
 * and kept for the worker's life, so that callers' pulls unpack on threads (and on code the JIT
 * has already compiled, from the second pull on). Without a worker script (a bundle built without
 * it), nothing.
 */
export async function warmPool(): Promise<void> {
  const script = workerScript();
  if (script !== undefined) await sharedPool(script).warm();
}

/** unpackLayer on a worker thread of the process's pool (see UnpackPool.unpack). */
export async function unpackInWorker(
  source: AsyncIterable<Uint8Array> | string,
  dest: string,
  opts: UnpackOptions = {},
): Promise<UnpackResult> {
  const script = workerScript();
  // In a `serve` worker running a caller's command, no new thread: Bun gives a thread its own
  // copies of fds 1 and 2, which would then be the caller's stdout and stderr, and the idle thread
  // would hold them open after the command, so the caller's reader never saw EOF (found by
  // test/serve/engine.test.ts: `run --rm` of a fresh store, which builds busybox, hung there).
  // Only the threads warmPool started during the worker's warm-up, if any are left.
  const served = callerPid() !== process.pid;
  if (script === undefined || (served && !(shared?.fixed === true && shared.workers > 0))) {
    // (Or a bundle built without its worker.) Slower, not broken.
    const { unpackLayer } = await import("./unpack.ts");
    return unpackLayer(source, dest, opts);
  }
  return sharedPool(script).unpack(source, dest, opts);
}
