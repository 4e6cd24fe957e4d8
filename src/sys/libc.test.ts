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
