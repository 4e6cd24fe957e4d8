import { describe, expect, test } from "bun:test";
import {
  AUDIT_ARCH_X86_64,
  BPF,
  decode,
  encode,
  enosysStub,
  type Insn,
  runFilter,
  SCMP_ARCH_X32,
  SECCOMP_RET_ERRNO,
  X32_SYSCALL_BIT,
} from "./bpf.ts";

const ENOSYS = SECCOMP_RET_ERRNO | 38;
const FILTER = 0x7fff0000; // what the stand-in "filter" after the stub returns
const ret = (k: number): Insn => ({ code: BPF.RET_K, jt: 0, jf: 0, k });

test("instructions encode to 8 bytes each and decode back", () => {
  const prog: Insn[] = [
    { code: BPF.LD_W_ABS, jt: 0, jf: 0, k: 4 },
    { code: BPF.JEQ_K, jt: 1, jf: 0, k: 0xc000003e },
    ret(0xdeadbeef),
  ];
  const bytes = encode(prog);
  expect(bytes.length).toBe(24);
  expect([...bytes.subarray(0, 8)]).toEqual([0x20, 0, 0, 0, 4, 0, 0, 0]);
  expect(decode(bytes)).toEqual(prog);
  expect(() => decode(new Uint8Array(12))).toThrow(/not whole/);
});

describe("the -ENOSYS stub", () => {
  test("is empty without architectures", () => {
    expect(enosysStub(new Map())).toEqual([]);
  });

  const X86 = 0x40000003;
  const last = new Map([
    [AUDIT_ARCH_X86_64, 300],
    [SCMP_ARCH_X32, X32_SYSCALL_BIT | 500],
    [X86, 400],
  ]);
  const stub = enosysStub(last);
  const run = (nr: number, arch: number) => runFilter([...stub, ret(FILTER)], { nr, arch });

  const cases: [string, number, number, number][] = [
    ["x86_64 below its last", 300, AUDIT_ARCH_X86_64, FILTER],
    ["x86_64 past its last", 301, AUDIT_ARCH_X86_64, ENOSYS],
    ["x32 below its last", X32_SYSCALL_BIT | 500, AUDIT_ARCH_X86_64, FILTER],
    ["x32 past its last", X32_SYSCALL_BIT | 501, AUDIT_ARCH_X86_64, ENOSYS],
    ["i386 below its last", 400, X86, FILTER],
    ["i386 past its last", 401, X86, ENOSYS],
    ["an architecture without a section", 9999, 0x12345678, FILTER],
  ];
  for (const [what, nr, arch, want] of cases) {
    test(`${what} ${want === ENOSYS ? "answers ENOSYS" : "falls through to the filter"}`, () => {
      expect(run(nr, arch)).toBe(want);
    });
  }

  test("s390x syscall 0 (unknown to the kernel) answers ENOSYS", () => {
    const s390x = 0x80000016;
    const s = enosysStub(new Map([[s390x, 450]]));
    expect(runFilter([...s, ret(FILTER)], { nr: 0, arch: s390x })).toBe(ENOSYS);
    expect(runFilter([...s, ret(FILTER)], { nr: 1, arch: s390x })).toBe(FILTER);
  });
});

test("the simulator reads 64-bit arguments as two words", () => {
  const prog: Insn[] = [
    { code: BPF.LD_W_ABS, jt: 0, jf: 0, k: 20 }, // args[0] high word (little-endian)
    { code: BPF.JEQ_K, jt: 0, jf: 1, k: 0x1 },
    ret(1),
    ret(2),
  ];
  expect(runFilter(prog, { nr: 0, arch: 0, args: [0x1_0000_0000n] })).toBe(1);
  expect(runFilter(prog, { nr: 0, arch: 0, args: [0x1n] })).toBe(2);
});
