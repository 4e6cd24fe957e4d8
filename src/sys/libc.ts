// The few libc calls Bun and Node do not offer, through bun:ffi. Loaded on first use so the
// hot path of commands that need none (state, list) pays nothing.
import { ptr as addressOf, dlopen, FFIType, type Pointer, read } from "bun:ffi";

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
  memfd_create: { args: [ptr, u32], returns: i32 },
  execve: { args: [ptr, ptr, ptr], returns: i32 },
  // Layer unpacking (src/image/ffi.ts): on the link itself, l*xattr never follow a symlink.
  fchmodat: { args: [i32, ptr, u32, i32], returns: i32 },
  lsetxattr: { args: [ptr, ptr, ptr, u64, i32], returns: i32 },
  lgetxattr: { args: [ptr, ptr, ptr, u64], returns: i64 },
  llistxattr: { args: [ptr, ptr, u64], returns: i64 },
} as const;

type Symbols = ReturnType<typeof dlopen<typeof DEFS>>["symbols"];
type Name = keyof typeof DEFS;

// bun:ffi compiles a trampoline for every symbol it binds (~0.75 ms each here, measured: one
// dlopen of 10 symbols 7.4 ms, of 1 symbol 0.75 ms), and a direct `leopard-oci run` used a dozen:
// ~10 ms of a ~90 ms call. Nearly all of these functions are thin wrappers of one system call, so
// they go through ONE binding, libc's syscall(2), by number (errno is set as by the wrapper). Only
// what is more than a system call (isatty, tcgetattr, tcsetattr: ioctl layouts glibc owns), and
// what an architecture lacks (poll, dup2 on arm64), binds a symbol of its own on first use.
// Hand-written because no library offers a syscall table for bun:ffi.
const AT_FDCWD = -100;
const S_IFIFO = 0o010000;
export type Arg =
  | number
  | bigint
  | Pointer
  | NodeJS.TypedArray
  | ArrayBufferLike
  | DataView
  | null
  | undefined;
/** [x86_64 number, arm64 number, arguments → the system call's]: undefined where it must bind. */
type Route = readonly [number | undefined, number | undefined, ((a: Arg[]) => Arg[])?];
const prlimit = (get: boolean) => (a: Arg[]) => [0, a[0], get ? 0 : a[1], get ? a[1] : 0];
const ROUTES: Partial<Record<Name, Route>> = {
  socketpair: [53, 199],
  sendmsg: [46, 211],
  recvmsg: [47, 212],
  poll: [7, undefined],
  close: [3, 57],
  setsockopt: [54, 208],
  ioctl: [16, 29],
  flock: [73, 32],
  prctl: [157, 167],
  mount: [165, 40],
  umount2: [166, 39],
  kill: [62, 129],
  syscall: [undefined, undefined],
  mkfifo: [259, 33, (a) => [AT_FDCWD, a[0], S_IFIFO | Number(a[1]), 0]],
  getrlimit: [302, 261, prlimit(true)],
  setrlimit: [302, 261, prlimit(false)],
  socket: [41, 198],
  connect: [42, 203],
  bind: [49, 200],
  sendto: [44, 206],
  recv: [45, 207, (a) => [a[0], a[1], a[2], a[3], 0, 0]],
  unshare: [272, 97],
  setns: [308, 268],
  listen: [50, 201],
  accept4: [288, 242],
  getsockopt: [55, 209],
  getsockname: [51, 204],
  dup2: [33, undefined],
  dup: [32, 23],
  pipe2: [293, 59],
  fcntl: [72, 25],
  openat: [257, 56],
  mkdirat: [258, 34],
  symlinkat: [266, 36],
  readlinkat: [267, 78],
  mknodat: [259, 33],
  fchownat: [260, 54],
  utimensat: [280, 88],
  futimens: [280, 88, (a) => [a[0], 0, a[1], 0]],
  fchmod: [91, 52],
  fchown: [93, 55],
  renameat2: [316, 276],
  unlinkat: [263, 35],
  getdents64: [217, 61],
  memfd_create: [319, 279],
  execve: [59, 221],
  fchmodat: [268, 53],
  lsetxattr: [189, 6],
  lgetxattr: [192, 9],
  llistxattr: [195, 12],
};
const ARCH = process.arch === "arm64" ? 1 : process.arch === "x64" ? 0 : -1;

/** An argument as the i64 syscall(2) binding takes it: a buffer by its address, null as 0. */
function word(a: Arg): number | bigint {
  if (a === null || a === undefined) return 0;
  if (typeof a === "number" || typeof a === "bigint") return a;
  if (a.byteLength === 0) return 0; // bun:ffi has no address for an empty buffer
  if (a instanceof ArrayBuffer || a instanceof SharedArrayBuffer) return addressOf(new Uint8Array(a));
  return addressOf(a as NodeJS.TypedArray);
}

type Syscall6 = (...a: (number | bigint)[]) => bigint;
let syscall6: Syscall6 | undefined;
function raw(): Syscall6 {
  if (syscall6 === undefined) {
    // errno() must not bind lazily after a failed call: dlopen itself may reset errno. Both in
    // one dlopen: bun:ffi's set-up is paid per call (two took ~2x one's time, measured).
    const syscall = { args: [i64, i64, i64, i64, i64, i64, i64], returns: i64 } as const;
    if (bound.__errno_location === undefined) {
      const both = dlopen("libc.so.6", { __errno_location: DEFS.__errno_location, syscall }).symbols;
      (bound as Record<string, unknown>)["__errno_location"] = both.__errno_location;
      syscall6 = both.syscall as unknown as Syscall6;
    } else syscall6 = dlopen("libc.so.6", { syscall }).symbols.syscall as unknown as Syscall6;
  }
  return syscall6;
}

/**
 * errno as the last routed system call left it, read the moment it failed (undefined: the last
 * call was not one, errno() reads libc's). Between a failed call and the caller's errno(), the
 * JS thread may run code that sets errno again (a GC's futex or madvise): a create's mkdir was seen
 * to report EAGAIN instead of EEXIST once under load.
 */
let sysErrno: number | undefined;

let pinned: unknown;

/**
 * Keeps buffers alive until the system call that reads them has returned. A buffer the kernel
 * reaches only by an address — an argument already turned into a number, an iovec inside a
 * msghdr, a string inside an argv vector — is referenced by nothing the collector sees once the
 * address is taken, and a collection at any allocation before the call (converting the other
 * arguments) may free it: the kernel then reads freed memory. Seen under `bun test`: recvmsg
 * failing with EINVAL on a msghdr whose iovec had been collected. Call it after the system call
 * with every such buffer; pass buffers (not ptr(...) numbers) as arguments where possible.
 */
export function keepAlive(...buffers: unknown[]): void {
  pinned = buffers;
}

/** What keepAlive holds (for its test). */
export function keptAlive(): unknown {
  return pinned;
}

/** syscall(2): the system call `nr` with up to six arguments; -1 and errno on failure. */
export function sys(nr: number, ...args: Arg[]): bigint {
  const w = args.map(word);
  while (w.length < 6) w.push(0);
  const r = raw()(nr, ...w);
  sysErrno = r === -1n ? libcErrno() : undefined;
  // The buffers among args are known to the collector only through args until here.
  keepAlive(args);
  return r;
}

function routed(name: Name): ((...a: Arg[]) => number | bigint) | undefined {
  if (ARCH < 0) return undefined;
  const route = ROUTES[name];
  if (route === undefined) return undefined;
  if (name === "syscall") return (nr, ...a) => sys(Number(nr), ...a);
  const nr = route[ARCH as 0 | 1];
  if (nr === undefined) return undefined;
  const wide = DEFS[name].returns === i64;
  const shape = route[2];
  return (...a) => {
    const r = sys(nr, ...(shape ? shape(a) : a));
    return wide ? r : Number(r);
  };
}

const bound: Partial<Symbols> = {};
const lazy = new Proxy(bound, {
  get(target, key: string) {
    const name = key as Name;
    let f = target[name];
    if (f === undefined) {
      const def = DEFS[name];
      if (def === undefined) return undefined;
      if (name !== "__errno_location" && target.__errno_location === undefined) void lazy.__errno_location;
      const route = routed(name);
      const own = route === undefined && name !== "__errno_location";
      const sym = (route ??
        dlopen("libc.so.6", { [name]: def } as Pick<typeof DEFS, typeof name>).symbols[name]) as (
        ...a: unknown[]
      ) => unknown;
      // A symbol of its own sets libc's errno: errno() must read that one after it.
      f = (
        own
          ? (...a: unknown[]) => {
              sysErrno = undefined;
              return sym(...a);
            }
          : sym
      ) as Symbols[typeof name];
      (target as Record<string, unknown>)[name] = f;
    }
    return f;
  },
}) as Symbols;

export function libc(): Symbols {
  return lazy;
}

function libcErrno(): number {
  const p = libc().__errno_location();
  if (p === null) return 0;
  return read.i32(p, 0);
}

/** errno of the last failed call: a routed system call's as it failed, else libc's. */
export function errno(): number {
  return sysErrno ?? libcErrno();
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
