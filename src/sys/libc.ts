// The few libc calls Bun and Node do not offer, through bun:ffi. Loaded on first use so the
// hot path of commands that need none (state, list) pays nothing.
import { dlopen, FFIType, read } from "bun:ffi";

const { i32, u32, u64, i64, ptr } = FFIType;

const DEFS = {
  __errno_location: { args: [], returns: ptr },
  socketpair: { args: [i32, i32, i32, ptr], returns: i32 },
  sendmsg: { args: [i32, ptr, i32], returns: i64 },
  recvmsg: { args: [i32, ptr, i32], returns: i64 },
  poll: { args: [ptr, u64, i32], returns: i32 },
  close: { args: [i32], returns: i32 },
  setsockopt: { args: [i32, i32, i32, ptr, u32], returns: i32 },
  ioctl: { args: [i32, u64, ptr], returns: i32 },
  flock: { args: [i32, i32], returns: i32 },
  prctl: { args: [i32, u64, u64, u64, u64], returns: i32 },
  mount: { args: [ptr, ptr, ptr, u64, ptr], returns: i32 },
  umount2: { args: [ptr, i32], returns: i32 },
  kill: { args: [i32, i32], returns: i32 },
  isatty: { args: [i32], returns: i32 },
  tcgetattr: { args: [i32, ptr], returns: i32 },
  tcsetattr: { args: [i32, i32, ptr], returns: i32 },
  syscall: { args: [i64, i64, i64, i64], returns: i64 },
  mkfifo: { args: [ptr, u32], returns: i32 },
  getrlimit: { args: [i32, ptr], returns: i32 },
  setrlimit: { args: [i32, ptr], returns: i32 },
  socket: { args: [i32, i32, i32], returns: i32 },
  connect: { args: [i32, ptr, u32], returns: i32 },
  bind: { args: [i32, ptr, u32], returns: i32 },
  sendto: { args: [i32, ptr, u64, i32, ptr, u32], returns: i64 },
  recv: { args: [i32, ptr, u64, i32], returns: i64 },
  unshare: { args: [i32], returns: i32 },
  setns: { args: [i32, i32], returns: i32 },
  listen: { args: [i32, i32], returns: i32 },
  accept4: { args: [i32, ptr, ptr, i32], returns: i32 },
  getsockopt: { args: [i32, i32, i32, ptr, ptr], returns: i32 },
  getsockname: { args: [i32, ptr, ptr], returns: i32 },
  dup2: { args: [i32, i32], returns: i32 },
  dup: { args: [i32], returns: i32 },
  pipe2: { args: [ptr, i32], returns: i32 },
  fcntl: { args: [i32, i32, i32], returns: i32 },
  // The *at calls of src/sys/at.ts: a file named relative to a directory fd.
  openat: { args: [i32, ptr, i32, u32], returns: i32 },
  mkdirat: { args: [i32, ptr, u32], returns: i32 },
  symlinkat: { args: [ptr, i32, ptr], returns: i32 },
  readlinkat: { args: [i32, ptr, ptr, u64], returns: i64 },
  mknodat: { args: [i32, ptr, u32, u64], returns: i32 },
  fchownat: { args: [i32, ptr, u32, u32, i32], returns: i32 },
  utimensat: { args: [i32, ptr, ptr, i32], returns: i32 },
  futimens: { args: [i32, ptr], returns: i32 },
  fchmod: { args: [i32, u32], returns: i32 },
  fchown: { args: [i32, u32, u32], returns: i32 },
  renameat2: { args: [i32, ptr, i32, ptr, u32], returns: i32 },
  unlinkat: { args: [i32, ptr, i32], returns: i32 },
  getdents64: { args: [i32, ptr, u64], returns: i64 },
} as const;

type Symbols = ReturnType<typeof dlopen<typeof DEFS>>["symbols"];
type Name = keyof typeof DEFS;

// Each function is bound on first use with a dlopen of its own: binding all of them at once
// costs ~12 ms (bun:ffi compiles a trampoline per symbol), one costs ~0.4 ms.
const bound: Partial<Symbols> = {};
const lazy = new Proxy(bound, {
  get(target, key: string) {
    const name = key as Name;
    let f = target[name];
    if (f === undefined) {
      const def = DEFS[name];
      if (def === undefined) return undefined;
      // errno() must not bind lazily after a failed call: dlopen itself may reset errno.
      if (name !== "__errno_location" && target.__errno_location === undefined) void lazy.__errno_location;
      f = dlopen("libc.so.6", { [name]: def } as Pick<typeof DEFS, typeof name>).symbols[
        name
      ] as Symbols[typeof name];
      (target as Record<string, unknown>)[name] = f;
    }
    return f;
  },
}) as Symbols;

export function libc(): Symbols {
  return lazy;
}

export function errno(): number {
  const p = libc().__errno_location();
  if (p === null) return 0;
  return read.i32(p, 0);
}

/** An OS error from a failed libc call, shaped like Node's (code, errno, syscall, path). */
export class SysError extends Error {
  override name = "SysError";
  constructor(
    readonly syscall: string,
    readonly errno: number,
    readonly path?: string,
  ) {
    super(`${syscall}${path === undefined ? "" : ` "${path}"`}: errno ${errno}`);
  }
}

/** Throws SysError when a libc call returned -1. */
export function check(ret: number | bigint, syscall: string, path?: string): number {
  const n = Number(ret);
  if (n === -1) throw new SysError(syscall, errno(), path);
  return n;
}

const enc = new TextEncoder();
/** A NUL-terminated copy of s for passing to C. */
export function cstr(s: string): Uint8Array {
  const b = enc.encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}
