// bun:ffi bindings to the system's libseccomp (Debian: libseccomp2). We use it only as a
// compiler: build a filter in memory, export the BPF program, release. Nothing is loaded into
// this process; the helper installs the bytes with seccomp(2) in the container.
//
// The library is opened on first use, so commands that never compile a filter (state, kill)
// do not pay for it, and a host without libseccomp fails only when a filter is needed.
import { dlopen, FFIType, type Pointer, toArrayBuffer } from "bun:ffi";
import { closeSync, fstatSync, readSync } from "../sys/fs-sync.ts";
import { cstr, libc } from "../sys/libc.ts";
import { LeopardError } from "../util/errors.ts";

const { i32, u32, ptr: p } = FFIType;

/** Names tried in order: the runtime soname first, the dev symlink as a fallback. */
const SONAMES = ["libseccomp.so.2", "libseccomp.so"] as const;

function symbols() {
  return {
    seccomp_version: { args: [], returns: p },
    seccomp_api_get: { args: [], returns: u32 },
    seccomp_init: { args: [u32], returns: p },
    seccomp_release: { args: [p], returns: FFIType.void },
    seccomp_attr_set: { args: [p, i32, u32], returns: i32 },
    seccomp_arch_native: { args: [], returns: u32 },
    seccomp_arch_resolve_name: { args: [p], returns: u32 },
    seccomp_arch_add: { args: [p, u32], returns: i32 },
    seccomp_syscall_resolve_name: { args: [p], returns: i32 },
    seccomp_syscall_resolve_name_arch: { args: [u32, p], returns: i32 },
    seccomp_rule_add_array: { args: [p, u32, i32, u32, p], returns: i32 },
    seccomp_export_bpf: { args: [p, i32], returns: i32 },
  } as const;
}

/** Opens the first of `names` that loads; exported for the test of the missing-library error. */
export function openLibseccomp(names: readonly string[] = SONAMES) {
  const failures: string[] = [];
  for (const name of names) {
    try {
      return dlopen(name, symbols());
    } catch (err) {
      failures.push(err instanceof Error ? err.message : String(err));
    }
  }
  throw new LeopardError(
    "unsupported",
    'seccomp needs the system library "libseccomp.so.2" (Debian/Ubuntu: apt-get install libseccomp2), and it could not be loaded',
    { cause: new Error(failures.join("; ")) },
  );
}

let lib: ReturnType<typeof openLibseccomp> | undefined;
function sym(): ReturnType<typeof openLibseccomp>["symbols"] {
  lib ??= openLibseccomp();
  return lib.symbols;
}

/** libseccomp's action values (seccomp.h). ERRNO and TRACE carry a 16-bit value. */
export const Act = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  NOTIFY: 0x7fc00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
  errno: (e: number) => (0x00050000 | (e & 0xffff)) >>> 0,
  trace: (e: number) => (0x7ff00000 | (e & 0xffff)) >>> 0,
} as const;

/** enum scmp_compare */
export const Cmp = { NE: 1, LT: 2, LE: 3, EQ: 4, GE: 5, GT: 6, MASKED_EQ: 7 } as const;
export type CmpOp = (typeof Cmp)[keyof typeof Cmp];

/** enum scmp_filter_attr (libseccomp 2.5). */
export const Attr = {
  ACT_DEFAULT: 1,
  ACT_BADARCH: 2,
  CTL_NNP: 3,
  CTL_TSYNC: 4,
  API_TSKIP: 5,
  CTL_LOG: 6,
  CTL_SSB: 7,
  CTL_OPTIMIZE: 8,
  API_SYSRAWRC: 9,
} as const;
export type Attr = (typeof Attr)[keyof typeof Attr];

/** __NR_SCMP_ERROR: a name libseccomp does not know. */
export const NR_SCMP_ERROR = -1;

/** One argument comparison: struct scmp_arg_cmp {u32 arg; u32 op; u64 datum_a; u64 datum_b}. */
export interface ArgCmp {
  readonly arg: number;
  readonly op: CmpOp;
  readonly a: bigint;
  readonly b: bigint;
}
export const SCMP_ARG_CMP_SIZE = 24;

/** Packs comparisons into the C array layout (host byte order, little-endian here). */
export function packArgCmps(cmps: readonly ArgCmp[]): Uint8Array {
  const buf = new Uint8Array(cmps.length * SCMP_ARG_CMP_SIZE);
  const v = new DataView(buf.buffer);
  cmps.forEach((c, i) => {
    const o = i * SCMP_ARG_CMP_SIZE;
    v.setUint32(o, c.arg, true);
    v.setUint32(o + 4, c.op, true);
    v.setBigUint64(o + 8, BigInt.asUintN(64, c.a), true);
    v.setBigUint64(o + 16, BigInt.asUintN(64, c.b), true);
  });
  return buf;
}

/** The loaded library's version, e.g. "2.5.4". */
export function libseccompVersion(): string {
  const v = sym().seccomp_version();
  if (v === null) return "unknown";
  // struct scmp_version { unsigned int major, minor, micro; }
  const words = new Uint32Array(toArrayBuffer(v, 0, 12));
  return `${words[0]}.${words[1]}.${words[2]}`;
}

/** libseccomp's API level (seccomp_api_get): 6 or more supports every action we use. */
export function apiLevel(): number {
  return sym().seccomp_api_get();
}

/** The native architecture token (an AUDIT_ARCH_* value). */
export function nativeArch(): number {
  return sym().seccomp_arch_native();
}

/** An architecture token from a libseccomp name ("x86_64", "aarch64"), or 0 when unknown. */
export function archToken(name: string): number {
  return sym().seccomp_arch_resolve_name(cstr(name));
}

/**
 * A syscall number from its name: for the native architecture, or for `arch` when given.
 * Negative pseudo-numbers (<= -100) mean "known, but not on this architecture"; NR_SCMP_ERROR
 * means the name is unknown to this libseccomp.
 */
export function syscallNumber(name: string, arch?: number): number {
  return arch === undefined
    ? sym().seccomp_syscall_resolve_name(cstr(name))
    : sym().seccomp_syscall_resolve_name_arch(arch, cstr(name));
}

function fail(what: string, ret: number, extra = ""): never {
  const errno = -ret;
  throw new LeopardError("system", `libseccomp ${what} failed${extra}: errno ${errno}`, {
    errno,
    syscall: what,
  });
}

/** A filter being built. `using` releases it. */
export class Filter implements Disposable {
  private ctx: Pointer | null;

  constructor(defaultAction: number) {
    this.ctx = sym().seccomp_init(defaultAction >>> 0);
    if (this.ctx === null) {
      throw new LeopardError(
        "system",
        `libseccomp seccomp_init failed for the default action ${defaultAction}`,
      );
    }
  }

  private get handle(): Pointer {
    if (this.ctx === null) throw new LeopardError("system", "seccomp filter already released");
    return this.ctx;
  }

  setAttr(attr: Attr, value: number): void {
    const r = sym().seccomp_attr_set(this.handle, attr, value >>> 0);
    if (r < 0) fail("seccomp_attr_set", r, ` for attribute ${attr}`);
  }

  /** Adds an architecture; one already present (the native one) is fine. */
  addArch(token: number): void {
    const r = sym().seccomp_arch_add(this.handle, token >>> 0);
    const EEXIST = 17;
    if (r < 0 && r !== -EEXIST) fail("seccomp_arch_add", r);
  }

  /** Returns libseccomp's result (0, or a negative errno) for the caller to explain. */
  addRule(action: number, syscall: number, cmps: readonly ArgCmp[]): number {
    // The buffer itself, not ptr() of it: an address alone would not keep it from the collector.
    const arr = cmps.length === 0 ? null : packArgCmps(cmps);
    return sym().seccomp_rule_add_array(this.handle, action >>> 0, syscall, cmps.length, arr);
  }

  /** The BPF program (struct sock_filter[], host byte order), through a memfd. */
  exportBpf(): Uint8Array {
    const fd = libc().memfd_create(cstr("leopard-seccomp"), 1 /* MFD_CLOEXEC */);
    if (fd < 0) throw new LeopardError("system", "memfd_create failed while exporting the seccomp filter");
    try {
      const r = sym().seccomp_export_bpf(this.handle, fd);
      if (r < 0) fail("seccomp_export_bpf", r);
      const size = fstatSync(fd).size;
      const out = new Uint8Array(size);
      let off = 0;
      while (off < size) {
        const n = readSync(fd, out, off, size - off, off);
        if (n <= 0) break;
        off += n;
      }
      return out.subarray(0, off);
    } finally {
      closeSync(fd);
    }
  }

  [Symbol.dispose](): void {
    if (this.ctx !== null) sym().seccomp_release(this.ctx);
    this.ctx = null;
  }
}
