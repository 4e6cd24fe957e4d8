import { describe, expect, test } from "bun:test";
import { type BlobPart, resumable } from "./blob-stream.ts";

const BLOB = new Uint8Array(1000).map((_, i) => i & 0xff);

/** How one answer behaves: where it starts, how many bytes it gives, how it stops. */
interface Answer {
  /** "range": honours the offset (206); "full": sends from byte 0 (200). */
  from: "range" | "full";
  /** Bytes sent before stopping (undefined: all). */
  bytes?: number;
  stop?: "error" | "close";
}

function server(answers: Answer[]) {
  const offsets: number[] = [];
  const open = async (offset: number): Promise<BlobPart> => {
    offsets.push(offset);
    const a = answers[offsets.length - 1] ?? { from: "range" };
    const start = a.from === "range" ? offset : 0;
    const data = BLOB.subarray(start, a.bytes === undefined ? undefined : start + a.bytes);
    async function* body(): AsyncGenerator<Uint8Array> {
      for (let o = 0; o < data.length; o += 64) yield data.subarray(o, o + 64);
      if (a.stop === "error") throw new Error("connection reset");
    }
    return { body: body(), start };
  };
  return { open, offsets };
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return new Uint8Array(Buffer.concat(parts));
}

describe("resumable", () => {
  const cases: { name: string; answers: Answer[]; offsets: number[] }[] = [
    { name: "no failure", answers: [{ from: "range" }], offsets: [0] },
    {
      name: "an error mid-body, resumed by range",
      answers: [{ from: "range", bytes: 300, stop: "error" }, { from: "range" }],
      offsets: [0, 300],
    },
    {
      name: "a clean close short of the size, resumed by range",
      answers: [{ from: "range", bytes: 300, stop: "close" }, { from: "range" }],
      offsets: [0, 300],
    },
    {
      name: "a server that ignores the range: the bytes already delivered are dropped",
      answers: [{ from: "range", bytes: 300, stop: "error" }, { from: "full" }],
      offsets: [0, 300],
    },
    {
      name: "several breaks, each resumed where the last one stopped",
      answers: [
        { from: "range", bytes: 100, stop: "error" },
        { from: "range", bytes: 250, stop: "close" },
        { from: "full", bytes: 500, stop: "error" },
        { from: "range" },
      ],
      offsets: [0, 100, 350, 500],
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const s = server(c.answers);
      const resumed: number[] = [];
      const got = await collect(
        resumable(s.open, { size: BLOB.length, onResume: (at) => void resumed.push(at) }),
      );
      expect(got).toEqual(BLOB);
      expect(s.offsets).toEqual(c.offsets);
      expect(resumed).toEqual(c.offsets.slice(1));
    });
  }

  test("a blob that really ends early is handed on short, for the caller to refuse", async () => {
    const s = server([
      { from: "range", bytes: 300, stop: "close" },
      { from: "range", bytes: 0 },
    ]);
    expect((await collect(resumable(s.open, { size: BLOB.length }))).length).toBe(300);
    expect(s.offsets).toEqual([0, 300]);
  });

  test("failures without progress give up after the attempts", async () => {
    const s = server(
      Array.from({ length: 10 }, () => ({ from: "range" as const, bytes: 0, stop: "error" as const })),
    );
    await expect(collect(resumable(s.open, { size: BLOB.length, attempts: 2 }))).rejects.toThrow(
      "download failed at byte 0: connection reset",
    );
    expect(s.offsets).toEqual([0, 0, 0]);
  });

  test("a server that resumes past the offset asked for is refused", async () => {
    const open = async (offset: number): Promise<BlobPart> =>
      offset === 0
        ? {
            body: (async function* () {
              yield BLOB.subarray(0, 100);
            })(),
            start: 0,
          }
        : { body: (async function* () {})(), start: offset + 1 };
    await expect(collect(resumable(open, { size: BLOB.length }))).rejects.toThrow(
      "resumed a download at byte 101",
    );
  });
});
