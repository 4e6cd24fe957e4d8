// The few libc calls Bun and Node do not offer. System calls go through leopard-sys.node
// (native/sys.c, a Node-API module), loaded on first use so that commands which need none pay
// nothing; the rest (isatty, tcgetattr, tcsetattr: more than a system call) through bun:ffi, which
// is loaded only when one of those is called.
import type { dlopen, Pointer } from "bun:ffi";
import { LeopardError } from "../util/errors.ts";
import { bundleDir, bundled } from "../util/layout.ts";

// bun:ffi's type names, as strings: its FFIType enum would load bun:ffi with this module.
const i32 = "i32";
const u32 = "u32";
const u64 = "u64";
const i64 = "i64";
const ptr = "ptr";

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

type Ffi = typeof import("bun:ffi");
type Symbols = ReturnType<typeof dlopen<typeof DEFS>>["symbols"];
/** bun:ffi, loaded when first needed (a symbol of its own): ~1.5 ms that most commands skip. */
const ffi = (): Ffi => require("bun:ffi");
type Name = keyof typeof DEFS;

// Nearly all of these functions are thin wrappers of one system call, so they go through ONE
// function, leopard-sys.node's syscall, by number (see native/sys.c for why not bun:ffi). Only what
// is more than a system call (isatty, tcgetattr, tcsetattr: ioctl layouts glibc owns), and what an
// architecture lacks (poll, dup2 on arm64), binds a symbol of its own through bun:ffi on first use.
// Hand-written because no library offers a system call table for JavaScript.
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

/** What sysModule() throws when leopard-sys.node cannot be loaded (writeAll then uses the console). */
const MISSING = "cannot load leopard-sys.node";

/** Whether e says leopard-sys.node could not be loaded: no system call can be made. */
export function sysModuleMissing(e: unknown): boolean {
  return e instanceof LeopardError && e.message.startsWith(MISSING);
}

/** leopard-sys.node's two functions (native/sys.c). */
interface SysModule {
  /** The system call nr with the arguments given (buffers by address): its result, or -errno. */
  syscall(nr: number, ...args: Arg[]): number;
  /** Where a buffer's bytes are (0 for an empty one). */
  address(buffer: NodeJS.TypedArray | ArrayBufferLike | DataView): number;
}

let loaded: SysModule | undefined;

/**
 * leopard-sys.node: beside the bundles when installed (lib/leopard), else the checkout's
 * native/build (from the checkout's build/cli bundles and from the sources alike).
 */
function sysModule(): SysModule {
  if (loaded === undefined) {
    const dir = bundleDir();
    const checkout = `${dir}/../../native/build/leopard-sys.node`;
    const paths = bundled() ? [`${dir}/leopard-sys.node`, checkout] : [checkout];
    let failed: unknown;
    for (const path of paths) {
      const m = { exports: {} as SysModule };
      try {
        process.dlopen(m, path);
        loaded = m.exports;
        break;
      } catch (e) {
        failed ??= e;
      }
    }
    if (loaded === undefined)
      throw new LeopardError("system", `${MISSING} (make builds it): ${(failed as Error).message}`);
  }
  return loaded;
}

/** Where a buffer's bytes are, for a structure that points to them (msghdr's iovec, an argv). */
export function addressOf(buffer: NodeJS.TypedArray | ArrayBufferLike | DataView): number {
  return sysModule().address(buffer);
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
  const r = sysModule().syscall(nr, ...args);
  // The buffers among args are known to the collector only through args until here.
  keepAlive(args);
  if (r < 0) {
    sysErrno = -r;
    return -1n;
  }
  sysErrno = undefined;
  return BigInt(r);
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
      const route = routed(name);
      const own = route === undefined && name !== "__errno_location";
      // errno() must not bind lazily after a failed call of a symbol of its own (dlopen itself
      // may reset errno): bound before the first such symbol.
      if (own && target.__errno_location === undefined) void lazy.__errno_location;
      const sym = (route ??
        ffi().dlopen("libc.so.6", { [name]: def } as Pick<typeof DEFS, typeof name>).symbols[name]) as (
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
  return ffi().read.i32(p, 0);
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
