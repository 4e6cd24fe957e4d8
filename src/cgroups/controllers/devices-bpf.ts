// The cgroup v2 device filter: OCI device rules compiled to a BPF_PROG_TYPE_CGROUP_DEVICE
// program. The kernel runs it on every open/mknod of a device node by a process in the cgroup,
// with a context { u32 access_type; u32 major; u32 minor } where access_type is
// (access << 16) | type; it returns 1 to allow and 0 to deny.
//
// Rules are checked last to first and the first that matches decides, which is OCI's "a later
// rule overrides an earlier one". An access matches an allow rule when the rule grants all of
// it, and a deny rule when the rule forbids any of it (an open for read+write against
// "deny w" is denied). When no rule matches the access is allowed, as in a fresh v1 device
// cgroup; container rule lists start with "deny a *:* rwm", which always matches.
import type { DeviceRule } from "../../config/types.ts";
import { LeopardError } from "../../util/errors.ts";

const BPF_DEVCG_DEV_BLOCK = 1;
const BPF_DEVCG_DEV_CHAR = 2;
const ACC: Record<string, number> = { m: 1, r: 2, w: 4 }; // BPF_DEVCG_ACC_MKNOD, _READ, _WRITE

// Opcodes (class | size/op | source).
const LDX_MEM_W = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU32_AND_K = 0x54;
const ALU32_RSH_K = 0x74;
const ALU32_MOV_K = 0xb4;
const ALU32_MOV_X = 0xbc;
const JMP32_JEQ_K = 0x16;
const JMP32_JNE_K = 0x56;
const JMP_EXIT = 0x95;

export interface Insn {
  readonly code: number;
  readonly dst: number;
  readonly src: number;
  readonly off: number;
  readonly imm: number;
}

const insn = (code: number, dst: number, src: number, off: number, imm: number): Insn => ({
  code,
  dst,
  src,
  off,
  imm,
});

function accessMask(access: string): number {
  let m = 0;
  for (const c of access) m |= ACC[c] ?? 0;
  return m;
}

/**
 * One rule's block; `null` in the jump offset means "to the next block". Registers: r2 type,
 * r3 access, r4 major, r5 minor; r1 is scratch.
 */
function block(r: DeviceRule): { insns: Insn[]; unconditional: boolean } {
  const out: (Insn | { jump: number; dst: number; imm: number })[] = [];
  if (r.type !== "a")
    out.push({ jump: JMP32_JNE_K, dst: 2, imm: r.type === "b" ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR });
  const mask = accessMask(r.access);
  if (mask !== 7) {
    out.push(insn(ALU32_MOV_X, 1, 3, 0, 0));
    if (r.allow) {
      // Skip unless every requested bit is granted: (access & ~mask) != 0 → next.
      out.push(insn(ALU32_AND_K, 1, 0, 0, ~mask & 7));
      out.push({ jump: JMP32_JNE_K, dst: 1, imm: 0 });
    } else {
      // Skip unless some requested bit is forbidden: (access & mask) == 0 → next.
      out.push(insn(ALU32_AND_K, 1, 0, 0, mask));
      out.push({ jump: JMP32_JEQ_K, dst: 1, imm: 0 });
    }
  }
  if (r.major !== undefined) out.push({ jump: JMP32_JNE_K, dst: 4, imm: r.major | 0 });
  if (r.minor !== undefined) out.push({ jump: JMP32_JNE_K, dst: 5, imm: r.minor | 0 });
  const unconditional = out.length === 0;
  out.push(insn(ALU32_MOV_K, 0, 0, 0, r.allow ? 1 : 0));
  out.push(insn(JMP_EXIT, 0, 0, 0, 0));
  const insns = out.map((x, i) => ("jump" in x ? insn(x.jump, x.dst, 0, out.length - 1 - i, x.imm) : x));
  return { insns, unconditional };
}

/** The program for the rules, as instructions. */
export function deviceFilterInsns(rules: readonly DeviceRule[]): Insn[] {
  const prog: Insn[] = [
    insn(LDX_MEM_W, 2, 1, 0, 0),
    insn(ALU32_AND_K, 2, 0, 0, 0xffff),
    insn(LDX_MEM_W, 3, 1, 0, 0),
    insn(ALU32_RSH_K, 3, 0, 0, 16),
    insn(LDX_MEM_W, 4, 1, 4, 0),
    insn(LDX_MEM_W, 5, 1, 8, 0),
  ];
  for (let i = rules.length - 1; i >= 0; i--) {
    const r = rules[i];
    if (r === undefined) continue;
    const b = block(r);
    prog.push(...b.insns);
    // Nothing after a rule that matches everything would ever run (the verifier refuses dead code).
    if (b.unconditional) return prog;
  }
  prog.push(insn(ALU32_MOV_K, 0, 0, 0, 1), insn(JMP_EXIT, 0, 0, 0, 0));
  return prog;
}

/** struct bpf_insn[]: code u8, dst_reg:4 | src_reg:4, off s16, imm s32, little-endian. */
export function encodeInsns(insns: readonly Insn[]): Uint8Array {
  const buf = new Uint8Array(insns.length * 8);
  const v = new DataView(buf.buffer);
  insns.forEach((x, i) => {
    v.setUint8(i * 8, x.code);
    v.setUint8(i * 8 + 1, ((x.src & 0xf) << 4) | (x.dst & 0xf));
    v.setInt16(i * 8 + 2, x.off, true);
    v.setInt32(i * 8 + 4, x.imm | 0, true);
  });
  return buf;
}

/** What the program decides for one access, by interpreting it (for tests and --explain). */
export function runDeviceFilter(
  insns: readonly Insn[],
  type: "c" | "b",
  access: string,
  major: number,
  minor: number,
): boolean {
  const ctx = [
    ((accessMask(access) << 16) | (type === "b" ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR)) >>> 0,
    major >>> 0,
    minor >>> 0,
  ];
  const reg = new Uint32Array(11);
  for (let pc = 0; pc < insns.length; pc++) {
    const x = insns[pc];
    if (x === undefined) break;
    const imm = x.imm >>> 0;
    switch (x.code) {
      case LDX_MEM_W:
        reg[x.dst] = ctx[x.off / 4] ?? 0;
        break;
      case ALU32_AND_K:
        reg[x.dst] = (reg[x.dst] ?? 0) & imm;
        break;
      case ALU32_RSH_K:
        reg[x.dst] = (reg[x.dst] ?? 0) >>> imm;
        break;
      case ALU32_MOV_K:
        reg[x.dst] = imm;
        break;
      case ALU32_MOV_X:
        reg[x.dst] = reg[x.src] ?? 0;
        break;
      case JMP32_JEQ_K:
        if (reg[x.dst] === imm) pc += x.off;
        break;
      case JMP32_JNE_K:
        if (reg[x.dst] !== imm) pc += x.off;
        break;
      case JMP_EXIT:
        return reg[0] === 1;
      default:
        throw new LeopardError("protocol", `unknown BPF opcode 0x${x.code.toString(16)}`);
    }
  }
  throw new LeopardError("protocol", "the BPF program ran off its end");
}
