// openat2(2) with RESOLVE_IN_ROOT: a path opened as if `root` were "/", so ".." and absolute
// symlinks inside a container's root filesystem never lead out of it. Node has no openat2;
// bun:ffi's syscall(2) with five arguments (a binding of its own, see libc.ts for why lazily).
import { dlopen, FFIType, ptr } from "bun:ffi";
import { openSync } from "node:fs";
import { check } from "./libc.ts";
import { closeFd } from "./seqpacket.ts";

const SYS_OPENAT2 = 437;
export const O_PATH = 0o10000000;
export const O_DIRECTORY = 0o200000;
export const O_CLOEXEC = 0o2000000;
const RESOLVE_NO_MAGICLINKS = 0x02;
const RESOLVE_IN_ROOT = 0x10;

let sys: ((nr: bigint, a: bigint, b: bigint, c: bigint, d: bigint) => bigint) | undefined;

function syscall5(): NonNullable<typeof sys> {
  if (sys === undefined) {
    const i64 = FFIType.i64;
    const lib = dlopen("libc.so.6", { syscall: { args: [i64, i64, i64, i64, i64], returns: i64 } });
    sys = lib.symbols.syscall as unknown as NonNullable<typeof sys>;
  }
  return sys;
}

/** Opens `path` inside `root` (RESOLVE_IN_ROOT); returns the fd (the caller closes it). */
export function openInRoot(root: string, path: string, flags: number): number {
  const rootFd = openSync(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  try {
    const how = new BigUint64Array([
      BigInt(flags | O_CLOEXEC),
      0n,
      BigInt(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS),
    ]);
    const p = Buffer.from(`${path}\0`);
    const fd = Number(syscall5()(BigInt(SYS_OPENAT2), BigInt(rootFd), BigInt(ptr(p)), BigInt(ptr(how)), 24n));
    return check(fd, "openat2", path);
  } finally {
    closeFd(rootFd);
  }
}
