import { describe, expect, test } from "bun:test";
import { readSeccomp } from "../config/validate-seccomp.ts";
import { AUDIT_ARCH_X86_64, decode, runFilter } from "./bpf.ts";
import { compileSeccomp } from "./compile.ts";
import {
  CLONE_NAMESPACE_FLAGS,
  DEFAULT_CAPABILITIES,
  defaultSeccompJson,
  defaultSeccompProfile,
  kernelVersion,
} from "./default-profile.ts";
import { Act, nativeArch, syscallNumber } from "./libseccomp.ts";

const X86_64 = { arch: "SCMP_ARCH_X86_64", kernel: [6, 1] } as const;
const names = (p: ReturnType<typeof defaultSeccompProfile>, action = "SCMP_ACT_ALLOW") =>
  new Set(p.syscalls.filter((r) => r.action === action && r.args.length === 0).flatMap((r) => r.names));

test("the default capabilities are docker's fourteen", () => {
  expect([...DEFAULT_CAPABILITIES].sort()).toEqual(
    [
      "CAP_CHOWN",
      "CAP_DAC_OVERRIDE",
      "CAP_FSETID",
      "CAP_FOWNER",
      "CAP_MKNOD",
      "CAP_NET_RAW",
      "CAP_SETGID",
      "CAP_SETUID",
      "CAP_SETFCAP",
      "CAP_SETPCAP",
      "CAP_NET_BIND_SERVICE",
      "CAP_SYS_CHROOT",
      "CAP_KILL",
      "CAP_AUDIT_WRITE",
    ].sort(),
  );
});

describe("groups resolved for the default capabilities on x86_64", () => {
  const p = defaultSeccompProfile(X86_64);
  const allowed = names(p);

  test("denies by default with EPERM and covers the three x86 ABIs", () => {
    expect(p.defaultAction).toBe("SCMP_ACT_ERRNO");
    expect(p.defaultErrnoRet).toBe(1);
    expect(p.architectures).toEqual(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
  });

  test("allows chroot (CAP_SYS_CHROOT), the x86 calls and ptrace on a kernel >= 4.8", () => {
    for (const n of ["chroot", "arch_prctl", "modify_ldt", "ptrace", "process_vm_readv", "read", "execve"]) {
      expect(allowed.has(n)).toBe(true);
    }
  });

  test("leaves out every call docker denies without extra capabilities", () => {
    const denied = [
      "mount",
      "umount2",
      "unshare",
      "setns",
      "pivot_root",
      "keyctl",
      "add_key",
      "request_key",
      "reboot",
      "kexec_load",
      "kexec_file_load",
      "init_module",
      "finit_module",
      "delete_module",
      "bpf",
      "perf_event_open",
      "userfaultfd",
      "swapon",
      "swapoff",
      "acct",
      "settimeofday",
      "clock_settime",
      "open_by_handle_at",
      "iopl",
      "ioperm",
      "lookup_dcookie",
      "move_pages",
      "mbind",
      "set_mempolicy",
      "get_mempolicy",
      "syslog",
      "vhangup",
      "kcmp",
      "pidfd_getfd",
      "process_madvise",
      "quotactl",
      "fsopen",
      "open_tree",
      "move_mount",
      "sethostname",
      "setdomainname",
      "clone3",
      "uselib",
      "ustat",
      "sysfs",
      "nfsservctl",
      "vm86",
      "vm86old",
      "create_module",
      "get_kernel_syms",
      "query_module",
      "_sysctl",
      "personality",
      "socket",
      "clone",
      "fanotify_init",
    ];
    for (const n of denied) expect(allowed.has(n)).toBe(false);
  });

  test("clone may not set namespace flags, clone3 answers ENOSYS", () => {
    const clone = p.syscalls.find((r) => r.names.includes("clone") && r.args.length > 0);
    expect(clone?.args).toEqual([
      { index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0n, op: "SCMP_CMP_MASKED_EQ" },
    ]);
    expect(p.syscalls.find((r) => r.names.includes("clone3"))).toMatchObject({
      action: "SCMP_ACT_ERRNO",
      errnoRet: 38,
    });
  });
});

test("with CAP_SYS_ADMIN the mount family is allowed and clone is unfiltered", () => {
  const p = defaultSeccompProfile({ ...X86_64, capabilities: [...DEFAULT_CAPABILITIES, "CAP_SYS_ADMIN"] });
  const allowed = names(p);
  for (const n of ["mount", "umount2", "unshare", "setns", "clone", "clone3"])
    expect(allowed.has(n)).toBe(true);
  expect(p.syscalls.some((r) => r.names.includes("clone") && r.args.length > 0)).toBe(false);
  expect(p.syscalls.some((r) => r.action === "SCMP_ACT_ERRNO")).toBe(false);
});

test("each capability group follows its capability", () => {
  const groups: [string, string[]][] = [
    ["CAP_SYS_BOOT", ["reboot"]],
    ["CAP_SYS_MODULE", ["init_module", "finit_module", "delete_module"]],
    ["CAP_SYS_PTRACE", ["kcmp", "pidfd_getfd", "process_madvise"]],
    ["CAP_SYS_TIME", ["settimeofday", "clock_settime"]],
    ["CAP_SYS_RAWIO", ["iopl", "ioperm"]],
    ["CAP_DAC_READ_SEARCH", ["open_by_handle_at"]],
    ["CAP_SYS_NICE", ["mbind", "set_mempolicy"]],
    ["CAP_SYSLOG", ["syslog"]],
    ["CAP_BPF", ["bpf"]],
    ["CAP_PERFMON", ["perf_event_open"]],
    ["CAP_SYS_PACCT", ["acct"]],
    ["CAP_SYS_TTY_CONFIG", ["vhangup"]],
  ];
  for (const [cap, calls] of groups) {
    const allowed = names(defaultSeccompProfile({ ...X86_64, capabilities: [cap] }));
    for (const c of calls) expect(allowed.has(c)).toBe(true);
    expect(allowed.has("chroot")).toBe(false);
  }
});

test("on s390x clone's flags are the second argument; on an old kernel ptrace is denied", () => {
  const s390 = defaultSeccompProfile({ arch: "SCMP_ARCH_S390X", kernel: [6, 1] });
  expect(s390.syscalls.find((r) => r.names.includes("clone") && r.args.length > 0)?.args[0]?.index).toBe(1);
  expect(s390.architectures).toEqual(["SCMP_ARCH_S390X", "SCMP_ARCH_S390"]);
  expect(names(defaultSeccompProfile({ ...X86_64, kernel: [4, 4] })).has("ptrace")).toBe(false);
  expect(kernelVersion("6.18.44-fc")).toEqual([6, 18]);
});

test("the JSON form reads back through the spec validator to the same profile", () => {
  const p = defaultSeccompProfile(X86_64);
  expect(readSeccomp(JSON.parse(JSON.stringify(defaultSeccompJson(X86_64))), "linux.seccomp")).toEqual(p);
});

describe.skipIf(nativeArch() !== AUDIT_ARCH_X86_64)("the compiled default profile, simulated", () => {
  const program = decode(compileSeccomp(defaultSeccompProfile(X86_64)).bpf);
  const run = (name: string, ...args: bigint[]) =>
    runFilter(program, { nr: syscallNumber(name), arch: AUDIT_ARCH_X86_64, args });
  const cases: [string, bigint[], number][] = [
    ["read", [], Act.ALLOW],
    ["mount", [], Act.errno(1)],
    ["keyctl", [], Act.errno(1)],
    ["clone", [0x11n /* SIGCHLD-ish */], Act.ALLOW],
    ["clone", [0x10000000n /* CLONE_NEWUSER */], Act.errno(1)],
    ["clone3", [], Act.errno(38)],
    ["socket", [2n /* AF_INET */], Act.ALLOW],
    ["socket", [40n /* AF_VSOCK */], Act.errno(1)],
    ["personality", [0n], Act.ALLOW],
    ["personality", [0xffffffffn], Act.ALLOW],
    ["personality", [0x40000n], Act.errno(1)],
    ["chroot", [], Act.ALLOW],
  ];
  for (const [name, args, want] of cases) {
    test(`${name}(${args.map((a) => `0x${a.toString(16)}`).join(", ")}) → 0x${want.toString(16)}`, () => {
      expect(run(name, ...args)).toBe(want);
    });
  }

  test("fits well inside the kernel's 4096 instructions", () => {
    expect(program.length).toBeLessThan(2048);
  });
});
