// A worker thread's entry: unpacks layers with unpackLayer, several side by side, each from a
// file path or from the chunks the parent thread sends (unpack-thread.ts is the parent's side;
// unpack-wire.ts the messages). Each chunk is acknowledged when the unpacker takes it, which is
// what lets the parent send more: at most its window of bytes per job waits here.

import { LeopardError } from "../util/errors.ts";
import { unpackLayer } from "./unpack.ts";
import { errorToWire, type FromWorker, type ToWorker } from "./unpack-wire.ts";

const send = (m: FromWorker): void => postMessage(m);

/** A streamed job's chunks not yet taken by its unpacker. */
class Inbox {
  readonly #job: number;
  readonly #queue: Uint8Array[] = [];
  #ended = false;
  #aborted = false;
  #wake: (() => void) | undefined;

  constructor(job: number) {
    this.#job = job;
  }

  push(m: ToWorker): void {
    if (m.kind === "chunk") this.#queue.push(m.bytes);
    else if (m.kind === "end") this.#ended = true;
    else if (m.kind === "abort") this.#aborted = true;
    this.#wake?.();
    this.#wake = undefined;
  }

  async *chunks(): AsyncGenerator<Uint8Array> {
    for (;;) {
      // The parent's source failed: whatever is queued is moot, the parent throws that error.
      if (this.#aborted) throw new LeopardError("system", "the layer's source failed");
      const c = this.#queue.shift();
      if (c !== undefined) {
        send({ job: this.#job, kind: "ack", bytes: c.byteLength });
        yield c;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }
}

const inboxes = new Map<number, Inbox>();

async function run(m: Extract<ToWorker, { kind: "start" }>): Promise<void> {
  const job = m.job;
  // This thread's own copy of the environment: jobs side by side come from one command.
  for (const k of Object.keys(process.env)) if (!(k in m.env)) delete process.env[k];
  Object.assign(process.env, m.env);
  const inbox = new Inbox(job);
  inboxes.set(job, inbox);
  try {
    const r = await unpackLayer(m.path ?? inbox.chunks(), m.dest, {
      ...m.opts,
      warn: (message) => send({ job, kind: "warn", message }),
    });
    send({ job, kind: "done", diffId: r.diffId, size: r.size, entries: r.entries });
  } catch (e) {
    send({ job, kind: "failed", error: errorToWire(e) });
  } finally {
    inboxes.delete(job);
  }
}

// Bun gives a thread its own copies of fds 1 and 2 when it first touches process.stdout and
// process.stderr (loading node-tar does): touched now, while loading, so that they copy what 0-2
// are at start (/dev/null in a `serve` worker's warm-up, see unpack-thread.ts), never later a
// caller's stdout.
void process.stdout;
void process.stderr;

addEventListener("message", (ev: MessageEvent<ToWorker>) => {
  const m = ev.data;
  if (m.kind === "start") void run(m);
  // Chunks that come after the job ended (it refused the layer early) are dropped.
  else inboxes.get(m.job)?.push(m);
});

send({ job: 0, kind: "ready" });
