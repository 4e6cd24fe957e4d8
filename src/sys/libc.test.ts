import { toArrayBuffer } from "bun:ffi";
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { cstr, errno, libc } from "./libc.ts";

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
