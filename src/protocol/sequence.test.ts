import { describe, expect, test } from "bun:test";
import type { Op } from "./ops.ts";
import { ForkMode, PtyMode, SyncTag } from "./ops.ts";
import { expectedMessages, MessageSequence } from "./sequence.ts";

const createOps: Op[] = [
  { op: "SET_NAME", name: "x" },
  { op: "UNSHARE", flags: 0x10000000 },
  { op: "SYNC", tag: SyncTag.ID_MAPS },
  { op: "SYNC", tag: SyncTag.CGROUP },
  { op: "FORK_PID1", mode: ForkMode.DETACH, cgroup: 0xffff_ffff },
  { op: "SYNC", tag: SyncTag.HOOKS },
  { op: "PTY", mode: PtyMode.SYNC },
  { op: "SECCOMP_LISTENER", bpf: new Uint8Array(8), flags: 0n },
  { op: "WAIT_START" },
  { op: "EXEC", candidates: ["/bin/true"], argv: ["true"], env: [] },
];

describe("expectedMessages", () => {
  test("lists the messages of a plan in op order, with the op that sends each", () => {
    expect(expectedMessages(createOps)).toEqual([
      { type: "sync", tag: 1, index: 2 },
      { type: "sync", tag: 2, index: 3 },
      { type: "pid", index: 4 },
      { type: "sync", tag: 4, index: 5 },
      { type: "pty", index: 6 },
      { type: "sync", tag: 5, index: 7 },
      { type: "ready", index: 8 },
    ]);
  });

  test("a pty sent over the console socket sends nothing on the sync socket", () => {
    expect(expectedMessages([{ op: "PTY", mode: PtyMode.CONSOLE }])).toEqual([]);
  });
});

describe("MessageSequence", () => {
  test("accepts the plan's messages in order and is then complete", () => {
    const seq = new MessageSequence(createOps);
    for (const m of [
      { type: "sync", tag: 1 },
      { type: "sync", tag: 2 },
      { type: "pid" },
      { type: "sync", tag: 4 },
      { type: "pty" },
      { type: "sync", tag: 5 },
    ] as const) {
      expect(seq.complete).toBe(false);
      seq.accept(m);
    }
    expect(seq.awaits("ready")).toBe(true);
    expect(seq.accept({ type: "ready" }).index).toBe(8);
    expect(seq.complete).toBe(true);
  });

  test("refuses a sync out of order, naming what the plan sends there", () => {
    const seq = new MessageSequence(createOps);
    expect(() => seq.accept({ type: "sync", tag: 2 })).toThrow(
      "the helper sent sync 2 where its plan sends sync 1 (op 2)",
    );
  });

  test("refuses ready before the pid", () => {
    const seq = new MessageSequence(createOps);
    seq.accept({ type: "sync", tag: 1 });
    seq.accept({ type: "sync", tag: 2 });
    expect(() => seq.accept({ type: "ready" })).toThrow(
      "the helper sent ready where its plan sends pid (op 4)",
    );
  });

  test("refuses a sync tag the plan does not have, and anything after the last message", () => {
    const seq = new MessageSequence([{ op: "FORK_PID1", mode: ForkMode.WAIT, cgroup: 0xffff_ffff }]);
    expect(() => seq.accept({ type: "sync", tag: 9 })).toThrow("where its plan sends pid");
    seq.accept({ type: "pid" });
    expect(() => seq.accept({ type: "pty" })).toThrow("after the last message its plan sends");
  });
});
