// Mutated plans against the real helper: every one must end in an ERROR frame or a clean exit,
// never a signal. Seeded, so a failure names the case that reproduces it.

import { dlopen, FFIType } from "bun:ffi";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, writeSync } from "node:fs";
import { closeFd, recvMsg, sendMsg, socketPair, TimeoutError } from "../sys/seqpacket.ts";
import { decodeMessage, type HelperMessage } from "./decode.ts";
import { encodeOps, planFrame } from "./encode.ts";
import { HEADER_SIZE, type Op } from "./ops.ts";
import { buildHelper, HELPER, lowerFdLimit } from "./testing.ts";

const SEED = 0x1e0fa4d;
const CASES = 2000;
const PARALLEL = 32;

const libc = dlopen("libc.so.6", {
  memfd_create: { args: [FFIType.cstring, FFIType.u32], returns: FFIType.i32 },
  fcntl: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  shutdown: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
});

let restoreFdLimit = () => {};
let sealed = -1;
let helperPath = HELPER;
beforeAll(() => {
  buildHelper();
  restoreFdLimit = lowerFdLimit();
  // Process creation dominates this test (about 4 ms a spawn on the test VM). Running the helper
  // from a copy that is already sealed saves its own memfd re-exec, and exercises the check that
  // finds it needs none.
  const MFD_CLOEXEC = 1;
  const MFD_ALLOW_SEALING = 2;
  const F_ADD_SEALS = 1033;
  const SEALS = 1 | 2 | 4 | 8; // F_SEAL_SEAL, SHRINK, GROW, WRITE
  sealed = libc.symbols.memfd_create(Buffer.from("leopard-helper\0"), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (sealed < 0) throw new Error("memfd_create failed");
  writeSync(sealed, readFileSync(HELPER));
  if (libc.symbols.fcntl(sealed, F_ADD_SEALS, SEALS) < 0) throw new Error("F_ADD_SEALS failed");
  helperPath = `/proc/${process.pid}/fd/${sealed}`;
});
afterAll(() => {
  if (sealed >= 0) closeFd(sealed);
  restoreFdLimit();
});

/** mulberry32: small, fast, good enough to pick mutations. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CLONE_NEWNS = 0x20000;
const CLONE_NEWUTS = 0x4000000;
const MS_REC = 0x4000;
const MS_PRIVATE = 1 << 18;
const RLIMIT_NOFILE = 7;

// A guard the mutations never touch or move: the helper parses the whole plan before it runs any
// op, so whenever an op runs these two ran first, and a mutation that turns SET_NAME into
// SETDOMAINNAME, or anything into a mount, stays inside private namespaces.
const guard: Op[] = [
  { op: "UNSHARE", flags: CLONE_NEWNS | CLONE_NEWUTS },
  { op: "MOUNT", source: "", target: "/", fstype: "", flags: MS_REC | MS_PRIVATE, data: "", resolve: 0 },
];
// Otherwise only harmless ops, and an EXEC of nothing: no mutation can run a program.
const body: Op[] = [
  { op: "SET_NAME", name: "leopard:[fuzz]" },
  { op: "UMASK", mask: 0o022 },
  { op: "RLIMIT", resource: RLIMIT_NOFILE, soft: 256, hard: 256 },
  { op: "EXEC", candidates: ["/nonexistent/leopard-fuzz"], argv: ["fuzz", "-x"], env: ["A=1"] },
];
const base = planFrame([...guard, ...body]);
/** The guard's bytes: after the header and the u32 op count. */
const GUARD = { from: HEADER_SIZE + 4, to: HEADER_SIZE + encodeOps(guard).length };

function mutate(src: Uint8Array, rnd: () => number): Uint8Array {
  const pick = (n: number) => Math.floor(rnd() * n);
  let b = Uint8Array.from(src);
  const rounds = 1 + pick(3);
  for (let r = 0; r < rounds; r++) {
    const kind = pick(5);
    // Bit flips and random bytes may hit the header and op count; the rest lands after the guard.
    const pointwise = kind === 0 || kind === 3;
    let at = pick(b.length);
    if (at < GUARD.to && (!pointwise || at >= GUARD.from)) {
      if (b.length <= GUARD.to) continue;
      at = GUARD.to + pick(b.length - GUARD.to);
    }
    switch (kind) {
      case 0: // flip a bit
        b[at] = b[at]! ^ (1 << pick(8));
        break;
      case 1: // truncate
        b = b.slice(0, at);
        break;
      case 2: {
        // a length-sized field set to something huge or a little off
        const v = [0xffffffff, 0x7fffffff, 0x80000000, 0x10000, b.length, pick(64)][pick(6)]!;
        if (at + 4 <= b.length) new DataView(b.buffer).setUint32(at, v, true);
        break;
      }
      case 3: // a random byte
        b[at] = pick(256);
        break;
      default: {
        // insert or delete a few bytes
        const n = 1 + pick(8);
        const noise = Array.from({ length: n }, () => pick(256));
        b =
          pick(2) === 0
            ? Uint8Array.from([...b.subarray(0, at), ...noise, ...b.subarray(at)])
            : Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + n)]);
      }
    }
  }
  // Half the time, make the header's payload length right so that the op parser is reached.
  if (b.length >= HEADER_SIZE && pick(2) === 0)
    new DataView(b.buffer).setUint32(8, b.length - HEADER_SIZE, true);
  return b;
}

type Outcome = {
  index: number;
  code: number | null;
  signal: string | null;
  messages: (HelperMessage | string)[];
  frame: string;
};

/** Every message the helper left on the socket; decoding failures are kept as strings. */
function drainNow(fd: number): (HelperMessage | string)[] {
  const out: (HelperMessage | string)[] = [];
  for (;;) {
    let m: ReturnType<typeof recvMsg>;
    try {
      m = recvMsg(fd, 0);
    } catch (e) {
      if (e instanceof TimeoutError) return out;
      throw e;
    }
    if (m === null) return out;
    for (const f of m.fds) closeFd(f);
    try {
      out.push(decodeMessage(m.data));
    } catch (e) {
      out.push(String(e));
    }
  }
}

async function runOne(index: number, bytes: Uint8Array): Promise<Outcome> {
  const [ours, theirs] = socketPair();
  try {
    const proc = Bun.spawn([helperPath, "3"], { stdio: ["ignore", "ignore", "ignore", theirs] });
    closeFd(theirs);
    sendMsg(ours, bytes);
    // No more from us: a SYNC that a mutation created meets EOF instead of waiting forever, and the
    // helper can still send its ERROR frame.
    libc.symbols.shutdown(ours, 1 /* SHUT_WR */);
    const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
    await proc.exited;
    clearTimeout(timer);
    const messages = drainNow(ours);
    return {
      index,
      code: proc.exitCode,
      signal: proc.signalCode,
      messages,
      frame: Buffer.from(bytes).toString("hex"),
    };
  } finally {
    closeFd(ours);
  }
}

test(`${CASES} mutated plans each end in an ERROR frame or a clean exit, never a signal`, async () => {
  const rnd = prng(SEED);
  const cases = Array.from({ length: CASES }, () => mutate(base, rnd));
  const bad: Outcome[] = [];
  const codes = new Map<number | null, number>();
  for (let i = 0; i < CASES; i += PARALLEL) {
    const batch = cases.slice(i, i + PARALLEL).map((bytes, j) => runOne(i + j, bytes));
    for (const o of await Promise.all(batch)) {
      codes.set(o.code, (codes.get(o.code) ?? 0) + 1);
      const errors = o.messages.filter((m) => typeof m !== "string" && m.type === "error");
      const wellFormed = o.messages.every((m) => typeof m !== "string");
      const failed = [1, 126, 127].includes(o.code ?? -1) && errors.length === 1;
      if (o.signal !== null || !wellFormed || !(o.code === 0 || failed)) bad.push(o);
    }
  }
  expect(bad).toEqual([]);
  // The mutations reach past the header: some plans parse and fail only at EXEC.
  expect(codes.get(127) ?? 0).toBeGreaterThan(0);
  expect(codes.get(1) ?? 0).toBeGreaterThan(CASES / 2);
}, 60_000);
