// compileSeccomp against libseccomp, checked without a fork: the program is run in a small BPF
// simulator (bpf.ts runFilter) on hand-made syscalls.
import { describe, expect, test } from "bun:test";
import type { SeccompArg, SeccompRule, SpecSeccomp } from "../config/types.ts";
import { AUDIT_ARCH_X86_64, BPF, decode, runFilter, X32_SYSCALL_BIT } from "./bpf.ts";
import { actionValue, compileSeccomp, conditionGroups } from "./compile.ts";
import { Act, archToken, nativeArch, syscallNumber } from "./libseccomp.ts";
import { allowAllBut } from "./testing.ts";

const NATIVE = nativeArch();
const nr = (name: string, arch?: number) => syscallNumber(name, arch);
const rule = (
  names: string[],
  action: SeccompRule["action"],
  errnoRet?: number,
  args: SeccompArg[] = [],
) => ({
  names,
  action,
  errnoRet,
  args,
});
const arg = (index: number, op: SeccompArg["op"], value: bigint, valueTwo = 0n): SeccompArg => ({
  index,
  op,
  value,
  valueTwo,
});
const errnoDefault = (syscalls: SeccompRule[], extra: Partial<SpecSeccomp> = {}): SpecSeccomp =>
  allowAllBut(syscalls, { defaultAction: "SCMP_ACT_ERRNO", ...extra });

/** The action the compiled profile takes for one native syscall. */
function verdict(profile: SpecSeccomp, name: string, args: bigint[] = [], arch = NATIVE): number {
  const program = decode(compileSeccomp(profile).bpf);
  return runFilter(program, {
    nr: nr(name, arch),
    arch: arch === archToken("x32") ? AUDIT_ARCH_X86_64 : arch,
    args,
  });
}

describe("actions", () => {
  const cases: [SeccompRule["action"], number | undefined, number][] = [
    ["SCMP_ACT_ALLOW", undefined, Act.ALLOW],
    ["SCMP_ACT_ERRNO", undefined, Act.errno(1)],
    ["SCMP_ACT_ERRNO", 13, Act.errno(13)],
    ["SCMP_ACT_KILL", undefined, Act.KILL_THREAD],
    ["SCMP_ACT_KILL_THREAD", undefined, Act.KILL_THREAD],
    ["SCMP_ACT_KILL_PROCESS", undefined, Act.KILL_PROCESS],
    ["SCMP_ACT_TRAP", undefined, Act.TRAP],
    ["SCMP_ACT_TRACE", undefined, Act.trace(1)],
    ["SCMP_ACT_TRACE", 7, Act.trace(7)],
    ["SCMP_ACT_LOG", undefined, Act.LOG],
  ];
  for (const [action, errnoRet, want] of cases) {
    test(`a rule with ${action}${errnoRet === undefined ? "" : `(${errnoRet})`} yields 0x${want.toString(16)}`, () => {
      const p = errnoDefault([rule(["getppid"], action, errnoRet)], { defaultErrnoRet: 99 });
      expect(verdict(p, "getppid")).toBe(want);
      expect(verdict(p, "getpid")).toBe(Act.errno(99));
    });
  }

  test("the default errno is EPERM when defaultErrnoRet is absent", () => {
    expect(verdict(errnoDefault([]), "getpid")).toBe(Act.errno(1));
  });

  test("SCMP_ACT_NOTIFY yields libseccomp's notify action and a filter with a listener", () => {
    const p = errnoDefault([rule(["getppid"], "SCMP_ACT_NOTIFY")], { listenerPath: "/run/agent.sock" });
    expect(verdict(p, "getppid")).toBe(Act.NOTIFY);
    expect(compileSeccomp(p).listener).toBe(true);
  });

  test("a filter without SCMP_ACT_NOTIFY has no listener, even with a listenerPath", () => {
    const p = errnoDefault([rule(["getppid"], "SCMP_ACT_ALLOW")], { listenerPath: "/run/agent.sock" });
    expect(compileSeccomp(p).listener).toBe(false);
  });

  test("an errnoRet above 65535 is refused", () => {
    expect(() => actionValue("SCMP_ACT_ERRNO", 70000, "x")).toThrow(/errnoRet 70000 is above 65535/);
  });

  test("a rule whose action is the default is skipped, as runc does", () => {
    const p = errnoDefault([rule(["getppid"], "SCMP_ACT_ERRNO", 1), rule(["getpid"], "SCMP_ACT_ALLOW")]);
    expect(verdict(p, "getppid")).toBe(Act.errno(1));
    expect(verdict(p, "getpid")).toBe(Act.ALLOW);
  });
});

describe("syscall names", () => {
  test("a name libseccomp does not know is skipped, the others in the rule still apply", () => {
    const p = allowAllBut([rule(["no_such_syscall_x", "getppid"], "SCMP_ACT_ERRNO", 77)]);
    expect(verdict(p, "getppid")).toBe(Act.errno(77));
    expect(verdict(p, "getpid")).toBe(Act.ALLOW);
  });

  test("a name that exists only on another architecture is skipped", () => {
    const p = allowAllBut([rule(["arm_fadvise64_64", "getppid"], "SCMP_ACT_ERRNO", 77)]);
    expect(verdict(p, "getppid")).toBe(Act.errno(77));
  });
});

describe("argument conditions", () => {
  const one = (a: SeccompArg) => allowAllBut([rule(["getppid"], "SCMP_ACT_ERRNO", 77, [a])]);
  const cases: [SeccompArg["op"], bigint, bigint, [bigint, boolean][]][] = [
    [
      "SCMP_CMP_EQ",
      5n,
      0n,
      [
        [5n, true],
        [4n, false],
        [0x1_0000_0005n, false],
      ],
    ],
    [
      "SCMP_CMP_NE",
      5n,
      0n,
      [
        [5n, false],
        [6n, true],
      ],
    ],
    [
      "SCMP_CMP_LT",
      5n,
      0n,
      [
        [4n, true],
        [5n, false],
        [0x1_0000_0000n, false],
      ],
    ],
    [
      "SCMP_CMP_LE",
      5n,
      0n,
      [
        [5n, true],
        [6n, false],
      ],
    ],
    [
      "SCMP_CMP_GT",
      5n,
      0n,
      [
        [6n, true],
        [5n, false],
        [0x1_0000_0000n, true],
      ],
    ],
    [
      "SCMP_CMP_GE",
      5n,
      0n,
      [
        [5n, true],
        [4n, false],
      ],
    ],
    [
      "SCMP_CMP_MASKED_EQ",
      0xff00n,
      0x1200n,
      [
        [0x1234n, true],
        [0x12ffn, true],
        [0x1334n, false],
      ],
    ],
    // 64-bit values: both halves are compared.
    [
      "SCMP_CMP_EQ",
      0xdead_beef_0000_0005n,
      0n,
      [
        [0xdead_beef_0000_0005n, true],
        [5n, false],
        [0xdead_beef_0000_0006n, false],
      ],
    ],
    [
      "SCMP_CMP_MASKED_EQ",
      0xffff_0000_0000_0000n,
      0x7e57_0000_0000_0000n,
      [
        [0x7e57_1234_5678_9abcn, true],
        [0x7e58_0000_0000_0000n, false],
      ],
    ],
    [
      "SCMP_CMP_GT",
      0xffff_ffff_ffff_fff0n,
      0n,
      [
        [0xffff_ffff_ffff_ffffn, true],
        [0xffff_ffffn, false],
      ],
    ],
  ];
  for (const [op, value, valueTwo, samples] of cases) {
    for (const [x, hit] of samples) {
      test(`${op} ${value.toString(16)}${op === "SCMP_CMP_MASKED_EQ" ? `/${valueTwo.toString(16)}` : ""} ${hit ? "matches" : "does not match"} 0x${x.toString(16)}`, () => {
        expect(verdict(one(arg(0, op, value, valueTwo)), "getppid", [x])).toBe(
          hit ? Act.errno(77) : Act.ALLOW,
        );
      });
    }
  }

  test("conditions on different arguments must all hold (AND)", () => {
    const p = allowAllBut([
      rule(["getppid"], "SCMP_ACT_ERRNO", 77, [arg(0, "SCMP_CMP_EQ", 1n), arg(2, "SCMP_CMP_EQ", 3n)]),
    ]);
    expect(verdict(p, "getppid", [1n, 0n, 3n])).toBe(Act.errno(77));
    expect(verdict(p, "getppid", [1n, 0n, 4n])).toBe(Act.ALLOW);
    expect(verdict(p, "getppid", [2n, 0n, 3n])).toBe(Act.ALLOW);
  });

  test("conditions repeating an argument become one rule each (OR), as runc does", () => {
    const args = [arg(0, "SCMP_CMP_EQ", 1n), arg(0, "SCMP_CMP_EQ", 2n), arg(1, "SCMP_CMP_EQ", 9n)];
    expect(conditionGroups(args)).toHaveLength(3);
    const p = allowAllBut([rule(["getppid"], "SCMP_ACT_ERRNO", 77, args)]);
    expect(verdict(p, "getppid", [1n])).toBe(Act.errno(77));
    expect(verdict(p, "getppid", [2n])).toBe(Act.errno(77));
    expect(verdict(p, "getppid", [3n, 9n])).toBe(Act.errno(77));
    expect(verdict(p, "getppid", [3n, 8n])).toBe(Act.ALLOW);
  });
});

describe("architectures", () => {
  test("the native architecture is always in the filter; another one is killed", () => {
    const p = allowAllBut([rule(["getppid"], "SCMP_ACT_ERRNO", 77)]);
    expect(verdict(p, "getppid")).toBe(Act.errno(77));
    const program = decode(compileSeccomp(p).bpf);
    expect(runFilter(program, { nr: 1, arch: 0x12345678 })).toBe(Act.KILL_THREAD);
  });

  test("libseccomp's program starts by loading and checking the architecture", () => {
    const insns = decode(compileSeccomp(allowAllBut([rule(["getppid"], "SCMP_ACT_ERRNO", 77)])).bpf);
    expect(insns[0]).toEqual({ code: BPF.LD_W_ABS, jt: 0, jf: 0, k: 4 });
    expect(insns[1]).toMatchObject({ code: BPF.JEQ_K, k: NATIVE });
    expect(insns.at(-1)?.code).toBe(BPF.RET_K);
  });

  test.skipIf(NATIVE !== AUDIT_ARCH_X86_64)(
    "listed architectures are added, each with its own syscall numbers",
    () => {
      const p = allowAllBut([rule(["getppid"], "SCMP_ACT_ERRNO", 77)], {
        architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      });
      expect(verdict(p, "getppid", [], archToken("x86"))).toBe(Act.errno(77));
      expect(verdict(p, "getppid", [], archToken("x32"))).toBe(Act.errno(77));
      expect(nr("getppid", archToken("x32")) & X32_SYSCALL_BIT).toBe(X32_SYSCALL_BIT);
    },
  );

  test.skipIf(archToken("loongarch64") !== 0)(
    "an architecture this libseccomp does not know is an error",
    () => {
      expect(() => compileSeccomp(allowAllBut([], { architectures: ["SCMP_ARCH_LOONGARCH64"] }))).toThrow(
        /"SCMP_ARCH_LOONGARCH64" is not supported by this host's libseccomp/,
      );
    },
  );
});

describe("the -ENOSYS stub (runc's)", () => {
  const listed: Partial<SpecSeccomp> = {
    architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  };
  const run = (p: SpecSeccomp, n: number, arch = NATIVE) =>
    runFilter(decode(compileSeccomp(p).bpf), { nr: n, arch });

  test.skipIf(NATIVE !== AUDIT_ARCH_X86_64)(
    "a syscall numbered past every syscall the profile names answers ENOSYS",
    () => {
      const p = errnoDefault([rule(["getppid", "mkdirat"], "SCMP_ACT_ALLOW")], listed);
      const last = nr("mkdirat");
      expect(run(p, last + 1)).toBe(Act.errno(38));
      expect(run(p, last)).toBe(Act.ALLOW);
      expect(run(p, nr("mkdir"))).toBe(Act.errno(1)); // below the last: the default
      expect(run(p, nr("mkdirat", archToken("x32")) + 1)).toBe(Act.errno(38));
      expect(run(p, nr("mkdirat", archToken("x86")) + 1, archToken("x86"))).toBe(Act.errno(38));
    },
  );

  test("the stub goes first, and only when the default action denies", () => {
    const denies = decode(compileSeccomp(errnoDefault([rule(["getppid"], "SCMP_ACT_ALLOW")], listed)).bpf);
    const allows = decode(compileSeccomp(allowAllBut([rule(["getppid"], "SCMP_ACT_ERRNO")], listed)).bpf);
    expect(denies.length).toBeGreaterThan(allows.length);
    expect(denies.some((x) => x.code === BPF.RET_K && x.k === Act.errno(38))).toBe(true);
    expect(allows.some((x) => x.code === BPF.RET_K && x.k === Act.errno(38))).toBe(false);
  });

  test("without listed architectures there is no stub, as in runc", () => {
    const p = errnoDefault([rule(["getppid"], "SCMP_ACT_ALLOW")]);
    expect(run(p, nr("getppid") + 200)).toBe(Act.errno(1));
  });
});

describe("flags", () => {
  test("each OCI flag maps to its seccomp(2) bit", () => {
    const flags = (f: SpecSeccomp["flags"]) => compileSeccomp(allowAllBut([], { flags: f })).flags;
    expect(flags([])).toBe(0n);
    expect(flags(["SECCOMP_FILTER_FLAG_TSYNC"])).toBe(1n);
    expect(flags(["SECCOMP_FILTER_FLAG_LOG"])).toBe(2n);
    expect(flags(["SECCOMP_FILTER_FLAG_SPEC_ALLOW"])).toBe(4n);
    expect(flags(["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"])).toBe(6n);
  });

  test("with a listener WAIT_KILLABLE_RECV is kept, and TSYNC brings TSYNC_ESRCH (the kernel refuses TSYNC alone)", () => {
    const notify = [rule(["getppid"], "SCMP_ACT_NOTIFY")];
    const flags = (f: SpecSeccomp["flags"]) =>
      compileSeccomp(allowAllBut(notify, { flags: f, listenerPath: "/run/agent.sock" })).flags;
    expect(flags(["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"])).toBe(32n);
    expect(flags(["SECCOMP_FILTER_FLAG_TSYNC"])).toBe(1n | 16n);
  });

  test("WAIT_KILLABLE_RECV is dropped without a listener (the kernel refuses it alone)", () => {
    expect(compileSeccomp(allowAllBut([], { flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"] })).flags).toBe(
      0n,
    );
  });
});

test("the same profile compiles to the same bytes", () => {
  const p = errnoDefault([rule(["getppid", "read", "write"], "SCMP_ACT_ALLOW")]);
  expect(compileSeccomp(p).bpf).toEqual(compileSeccomp(p).bpf);
});
