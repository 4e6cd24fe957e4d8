// Classic BPF as seccomp runs it: struct sock_filter {u16 code; u8 jt; u8 jf; u32 k} in host
// byte order, reading struct seccomp_data {int nr; u32 arch; u64 ip; u64 args[6]}.
// libseccomp writes the filter; this file only decodes it and writes the small -ENOSYS stub
// that runc puts in front of it (see enosysStub).
import { LeopardError } from "../util/errors.ts";

export interface Insn {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

export const INSN_SIZE = 8;
/** The kernel's limit on a program (BPF_MAXINSNS). */
export const MAX_INSNS = 4096;

export const BPF = {
  LD_W_ABS: 0x20,
  JA: 0x05,
  JEQ_K: 0x15,
  JGT_K: 0x25,
  JGE_K: 0x35,
  JSET_K: 0x45,
  RET_K: 0x06,
} as const;

/** Offsets in struct seccomp_data. */
export const DATA_NR = 0;
export const DATA_ARCH = 4;

export const SECCOMP_RET_ERRNO = 0x00050000;
const ENOSYS = 38;
/** Set in the syscall number of an x32 process (the kernel reports it as AUDIT_ARCH_X86_64). */
export const X32_SYSCALL_BIT = 0x40000000;
export const AUDIT_ARCH_X86_64 = 0xc000003e;
/** libseccomp's token for x32 is not a kernel AUDIT_ARCH value. */
export const SCMP_ARCH_X32 = 0x4000003e;
const AUDIT_ARCH_S390 = 0x16;
const AUDIT_ARCH_S390X = 0x80000016;

const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function encode(insns: readonly Insn[]): Uint8Array {
  const out = new Uint8Array(insns.length * INSN_SIZE);
  const v = new DataView(out.buffer);
  insns.forEach((x, i) => {
    const o = i * INSN_SIZE;
    v.setUint16(o, x.code, little);
    v.setUint8(o + 2, x.jt);
    v.setUint8(o + 3, x.jf);
    v.setUint32(o + 4, x.k >>> 0, little);
  });
  return out;
}

export function decode(bytes: Uint8Array): Insn[] {
  if (bytes.length % INSN_SIZE !== 0)
    throw new LeopardError("invalid-spec", `a BPF program of ${bytes.length} bytes is not whole`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Insn[] = [];
  for (let o = 0; o < bytes.length; o += INSN_SIZE) {
    out.push({
      code: v.getUint16(o, little),
      jt: v.getUint8(o + 2),
      jf: v.getUint8(o + 3),
      k: v.getUint32(o + 4, little),
    });
  }
  return out;
}

/**
 * The largest syscall number each architecture's rules name, per libseccomp architecture
 * token. x32 numbers carry X32_SYSCALL_BIT, as libseccomp reports them.
 */
export type LastSyscalls = ReadonlyMap<number, number>;

/**
 * runc's -ENOSYS stub, in our words: a syscall numbered above every syscall the profile names
 * (for its architecture) is newer than the profile, so it answers ENOSYS rather than the
 * default errno. glibc and musl fall back to an older syscall on ENOSYS only (clone3 → clone,
 * fchmodat2 → fchmodat), so a profile written before a syscall existed keeps working.
 * s390(x) also gets ENOSYS for syscall 0, where the kernel leaves numbers it does not know.
 *
 *   ld [arch]; jeq ARCH_i → section_i ...; ja filter
 *   section_i: ld [nr]; (x86_64: split on X32_SYSCALL_BIT); jgt LAST → enosys; ja filter
 *   enosys: ret ERRNO(ENOSYS)
 *   filter: libseccomp's program (it reloads what it needs)
 *
 * The stub stays far below 255 instructions, so every conditional jump fits in 8 bits.
 */
export function enosysStub(last: LastSyscalls): Insn[] {
  // Group libseccomp tokens by the arch value the kernel reports (x32 shares x86_64's).
  const groups = new Map<number, { native?: number; x32?: number }>();
  for (const [token, nr] of last) {
    const audit = token === SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : token;
    const g = groups.get(audit) ?? {};
    if (token === SCMP_ARCH_X32) g.x32 = nr;
    else g.native = nr;
    groups.set(audit, g);
  }
  if (groups.size === 0) return [];

  // Sections are built with symbolic targets, then resolved.
  type Target = "enosys" | "filter";
  type Pending =
    | { op: "insn"; insn: Insn }
    | { op: "jcond"; code: number; k: number; jt: Target | number; jf: Target | number }
    | { op: "ja"; to: Target };
  const sections: { audit: number; body: Pending[] }[] = [];
  const ld = (off: number): Pending => ({ op: "insn", insn: { code: BPF.LD_W_ABS, jt: 0, jf: 0, k: off } });
  for (const [audit, g] of groups) {
    const body: Pending[] = [ld(DATA_NR)];
    if (audit === AUDIT_ARCH_S390 || audit === AUDIT_ARCH_S390X) {
      body.push({ op: "jcond", code: BPF.JEQ_K, k: 0, jt: "enosys", jf: 0 });
    }
    if (audit === AUDIT_ARCH_X86_64) {
      // x32 calls have bit 30 set; each ABI has its own last number.
      const x32Check: Pending[] =
        g.x32 === undefined
          ? [{ op: "ja", to: "filter" }]
          : [
              { op: "jcond", code: BPF.JGT_K, k: g.x32, jt: "enosys", jf: 0 },
              { op: "ja", to: "filter" },
            ];
      const nativeCheck: Pending[] =
        g.native === undefined
          ? [{ op: "ja", to: "filter" }]
          : [
              { op: "jcond", code: BPF.JGT_K, k: g.native, jt: "enosys", jf: 0 },
              { op: "ja", to: "filter" },
            ];
      // jset bit30 → skip over the native check to the x32 check
      body.push({ op: "jcond", code: BPF.JSET_K, k: X32_SYSCALL_BIT, jt: nativeCheck.length, jf: 0 });
      body.push(...nativeCheck, ...x32Check);
    } else {
      body.push({ op: "jcond", code: BPF.JGT_K, k: g.native ?? 0xffffffff, jt: "enosys", jf: 0 });
      body.push({ op: "ja", to: "filter" });
    }
    sections.push({ audit, body });
  }

  // Layout: [ld arch] [jeq per section] [ja filter] [sections...] [ret enosys]
  const head = 1 + sections.length + 1;
  const starts: number[] = [];
  let pos = head;
  for (const s of sections) {
    starts.push(pos);
    pos += s.body.length;
  }
  const enosysAt = pos;
  const filterAt = pos + 1;

  const out: Insn[] = [{ code: BPF.LD_W_ABS, jt: 0, jf: 0, k: DATA_ARCH }];
  sections.forEach((s, i) => {
    const here = out.length;
    out.push({ code: BPF.JEQ_K, jt: starts[i]! - here - 1, jf: 0, k: s.audit });
  });
  out.push({ code: BPF.JA, jt: 0, jf: 0, k: filterAt - out.length - 1 });
  const rel = (t: Target | number, here: number): number =>
    typeof t === "number" ? t : (t === "enosys" ? enosysAt : filterAt) - here - 1;
  for (const s of sections) {
    for (const x of s.body) {
      const here = out.length;
      if (x.op === "insn") out.push(x.insn);
      else if (x.op === "ja") out.push({ code: BPF.JA, jt: 0, jf: 0, k: rel(x.to, here) });
      else out.push({ code: x.code, jt: rel(x.jt, here), jf: rel(x.jf, here), k: x.k });
    }
  }
  out.push({ code: BPF.RET_K, jt: 0, jf: 0, k: SECCOMP_RET_ERRNO | ENOSYS });
  for (const x of out) {
    if (x.jt > 255 || x.jf > 255)
      throw new LeopardError("invalid-spec", "seccomp -ENOSYS stub jump out of range");
  }
  return out;
}

/** What a filter sees of one syscall (struct seccomp_data, less the instruction pointer). */
export interface SeccompData {
  readonly nr: number;
  readonly arch: number;
  readonly args?: readonly bigint[];
}

const ALU_AND_K = 0x54;
const LD_IMM = 0x00;
const RET_A = 0x16;

/**
 * Runs a seccomp program on one syscall and returns the action value (SECCOMP_RET_*), the way
 * the kernel would. It knows the instructions libseccomp and our stub emit; anything else
 * throws. For tests and `--explain`, not for enforcement.
 */
export function runFilter(program: readonly Insn[], data: SeccompData): number {
  const word = (off: number): number => {
    if (off === DATA_NR) return data.nr >>> 0;
    if (off === DATA_ARCH) return data.arch >>> 0;
    if (off >= 16 && off < 64 && off % 4 === 0) {
      const arg = BigInt.asUintN(64, data.args?.[(off - 16) >> 3] ?? 0n);
      return Number((off % 8 === 0 ? arg : arg >> 32n) & 0xffffffffn);
    }
    if (off === 8 || off === 12) return 0; // instruction pointer
    throw new LeopardError("invalid-spec", `BPF load from offset ${off} is outside seccomp_data`);
  };
  let a = 0;
  for (let pc = 0, steps = 0; pc < program.length && steps < 100_000; steps++) {
    const x = program[pc]!;
    switch (x.code) {
      case BPF.LD_W_ABS:
        a = word(x.k);
        pc++;
        break;
      case LD_IMM:
        a = x.k >>> 0;
        pc++;
        break;
      case ALU_AND_K:
        a = (a & x.k) >>> 0;
        pc++;
        break;
      case BPF.JA:
        pc += 1 + x.k;
        break;
      case BPF.JEQ_K:
        pc += 1 + (a === x.k >>> 0 ? x.jt : x.jf);
        break;
      case BPF.JGT_K:
        pc += 1 + (a > x.k >>> 0 ? x.jt : x.jf);
        break;
      case BPF.JGE_K:
        pc += 1 + (a >= x.k >>> 0 ? x.jt : x.jf);
        break;
      case BPF.JSET_K:
        pc += 1 + ((a & x.k) !== 0 ? x.jt : x.jf);
        break;
      case BPF.RET_K:
        return x.k >>> 0;
      case RET_A:
        return a >>> 0;
      default:
        throw new LeopardError(
          "invalid-spec",
          `BPF instruction 0x${x.code.toString(16)} at ${pc} is not simulated`,
        );
    }
  }
  throw new LeopardError("invalid-spec", "BPF program ran off its end");
}
