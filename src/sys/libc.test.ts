import { toArrayBuffer } from "bun:ffi";
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { cstr, errno, keptAlive, libc, sys } from "./libc.ts";

const EEXIST = 17;
const EAGAIN = 11;
const EBADF = 9;
const AT_FDCWD = -100;

/** Sets libc's errno as other code on this thread might (a GC's futex, say). */
function clobber(value: number): void {
  const p = libc().__errno_location();
  if (p === null) throw new Error("no errno");
  new Int32Array(toArrayBuffer(p, 0, 4))[0] = value;
}

test("a routed system call's errno is read as it failed: later changes of libc's errno do not replace it", () => {
  const dir = mkdtempSync(`${tmpdir()}/leopard-errno-`);
  try {
    expect(libc().mkdirat(AT_FDCWD, cstr(dir), 0o700)).toBe(-1);
    clobber(EAGAIN);
    expect(errno()).toBe(EEXIST);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test("after a call of a symbol bound on its own, errno is libc's again", () => {
  const dir = mkdtempSync(`${tmpdir()}/leopard-errno-`);
  try {
    expect(libc().mkdirat(AT_FDCWD, cstr(dir), 0o700)).toBe(-1);
    expect(libc().tcgetattr(-1, new Uint8Array(64))).toBe(-1);
    expect(errno()).toBe(EBADF);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test("a routed system call keeps its buffer arguments alive until it has returned", () => {
  // The kernel reads a buffer through its address only; the collector must still see it until
  // the call is over (keepAlive). A path buffer made for this call alone is the case that mattered.
  const path = cstr("/proc/self/stat");
  const fd = Number(sys(process.arch === "x64" ? 257 : 56 /* openat */, -100, path, 0));
  const kept = keptAlive() as unknown[];
  expect(fd).toBeGreaterThanOrEqual(0);
  libc().close(fd);
  expect(kept.flat()).toContain(path);
});

test("sendmsg and recvmsg through msghdrs survive collections between calls", async () => {
  const { socketPair, sendMsg, recvMsg, closeFd } = await import("./seqpacket.ts");
  const [a, b] = socketPair();
  try {
    for (let i = 0; i < 300; i++) {
      const text = `message ${i} ${"x".repeat(i)}`;
      sendMsg(a, new TextEncoder().encode(text), i % 3 === 0 ? [0] : []);
      if (i % 50 === 0) Bun.gc(true);
      const m = recvMsg(b, 1000);
      expect(new TextDecoder().decode(m?.data)).toBe(text);
      for (const fd of m?.fds ?? []) closeFd(fd);
    }
  } finally {
    closeFd(a);
    closeFd(b);
  }
});

// leopard-sys.node (native/sys.c): every kind of argument a call passes, as the kernel sees it.
const NR =
  process.arch === "x64"
    ? { socketpair: 53, getpid: 39, pipe2: 293, close: 3, read: 0, write: 1 }
    : { socketpair: 199, getpid: 172, pipe2: 59, close: 57, read: 63, write: 64 };
const AF_UNIX = 1;
const SOCK_SEQPACKET = 5;
const SOCK_CLOEXEC = 0o2000000;

/** Whether bytes written to fd w come out of fd r: the two are the pair the kernel made. */
function connected(w: number, r: number): boolean {
  const out = new Uint8Array([w & 0xff, 42]);
  if (Number(sys(NR.write, w, out, 2)) !== 2) return false;
  const back = new Uint8Array(2);
  return Number(sys(NR.read, r, back, 2)) === 2 && back[0] === out[0] && back[1] === 42;
}

test("the kernel's writes reach a fresh small typed array (its bytes had no ArrayBuffer yet)", () => {
  // Bun's napi_get_typedarray_info gave such an array's old address, before it moved into the
  // ArrayBuffer it made: socketpair's fds were written where nothing read them.
  for (const make of [
    () => new Int32Array(2),
    () => new Int32Array(new ArrayBuffer(8)),
    () => new Int32Array(64),
  ]) {
    const fds = make();
    expect(Number(sys(NR.socketpair, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds))).toBe(0);
    expect(fds[0]).toBeGreaterThan(2);
    expect(connected(fds[0]!, fds[1]!)).toBe(true);
    expect(connected(fds[1]!, fds[0]!)).toBe(true);
    libc().close(fds[0]!);
    libc().close(fds[1]!);
  }
});

test("a view's offset, a DataView and an ArrayBuffer are passed by where their bytes are", () => {
  const whole = new Int32Array(6);
  const views: [ArrayBufferLike | NodeJS.TypedArray | DataView, () => [number, number]][] = [
    [whole.subarray(2, 4), () => [whole[2]!, whole[3]!]],
    [new DataView(whole.buffer, 16, 8), () => [whole[4]!, whole[5]!]],
  ];
  const ab = new ArrayBuffer(8);
  views.push([ab, () => [new Int32Array(ab)[0]!, new Int32Array(ab)[1]!]]);
  for (const [arg, read] of views) {
    expect(Number(sys(NR.pipe2, arg, SOCK_CLOEXEC))).toBe(0);
    const [r, w] = read();
    expect(r).toBeGreaterThan(2);
    expect(connected(w, r)).toBe(true);
    libc().close(r);
    libc().close(w);
  }
  expect([whole[0], whole[1]]).toEqual([0, 0]);
});

test("numbers and BigInts are passed as they are, a failure as -1 with its errno", () => {
  expect(Number(sys(NR.getpid))).toBe(process.pid);
  expect(libc().close(-1)).toBe(-1);
  expect(errno()).toBe(EBADF);
  // A BigInt's 64 bits: close's fd is an int, so the high bits do not make it a valid fd.
  expect(sys(NR.close, 0xffff_ffff_ffff_ffffn)).toBe(-1n);
  expect(errno()).toBe(EBADF);
});

test("an argument of another kind is refused with a TypeError, and no call is made", () => {
  expect(() => sys(NR.getpid, "1" as unknown as number)).toThrow(TypeError);
  expect(() => sys(NR.getpid, {} as unknown as number)).toThrow(TypeError);
  expect(() => sys(NR.getpid, 1, 2, 3, 4, 5, 6, 7)).toThrow(TypeError);
});
