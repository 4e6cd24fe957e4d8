// Real filters in a real process: the helper installs the compiled program (PRCTL
// no_new_privs, SECCOMP) and execs /bin/sh, whose perl probes report each syscall's errno.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SeccompArg, SeccompRule, SpecSeccomp } from "../config/types.ts";
import { buildHelper, type Exit, lowerFdLimit, runPlan } from "../protocol/testing.ts";
import { compileSeccomp } from "./compile.ts";
import { defaultSeccompProfile } from "./default-profile.ts";
import { allowAllBut, probe, probeNr, results } from "./testing.ts";

const PR_SET_NO_NEW_PRIVS = 38;

/** Runs `sh -c script` under the profile's filter: PRCTL no_new_privs, SECCOMP, EXEC. */
async function runUnder(profile: SpecSeccomp, script: string): Promise<Exit> {
  const { bpf, flags } = compileSeccomp(profile);
  const { messages, exit } = await runPlan([
    { op: "PRCTL", option: PR_SET_NO_NEW_PRIVS, arg: 1 },
    { op: "SECCOMP", bpf, flags },
    { op: "EXEC", candidates: ["/bin/sh"], argv: ["sh", "-c", script], env: ["PATH=/usr/bin:/bin"] },
  ]);
  if (messages.length > 0) throw new Error(`the helper failed: ${JSON.stringify(messages)}`);
  return exit;
}

let restoreFdLimit = () => {};
let dir = "";
beforeAll(() => {
  buildHelper();
  restoreFdLimit = lowerFdLimit();
  dir = mkdtempSync(join(tmpdir(), "leopard-seccomp-"));
});
afterAll(() => {
  restoreFdLimit();
  rmSync(dir, { recursive: true, force: true });
});

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
const SIGSYS = 31;

describe("a filter installed by the helper", () => {
  test("mkdir and mkdirat fail with EPERM under an ERRNO(1) rule, other calls go through", async () => {
    const exit = await runUnder(
      allowAllBut([rule(["mkdir", "mkdirat"], "SCMP_ACT_ERRNO", 1)]),
      `mkdir ${dir}/a; echo mkdir=$?; ls -d ${dir} >/dev/null; echo ls=$?`,
    );
    expect(exit.stdout).toBe("mkdir=1\nls=0\n");
    expect(exit.stderr).toMatch(/Operation not permitted/);
  });

  test("MASKED_EQ matches only the masked value, and 64-bit values compare both halves", async () => {
    const p = allowAllBut([
      rule(["getppid"], "SCMP_ACT_ERRNO", 77, [
        { index: 0, value: 0xff00n, valueTwo: 0x1200n, op: "SCMP_CMP_MASKED_EQ" },
      ]),
      rule(["getpgid"], "SCMP_ACT_ERRNO", 78, [
        { index: 1, value: 0x1_0000_0005n, valueTwo: 0n, op: "SCMP_CMP_EQ" },
      ]),
    ]);
    const exit = await runUnder(
      p,
      [
        probe("masked", "getppid", 0x1234),
        probe("unmasked", "getppid", 0x1334),
        probe("wide", "getpgid", 0, 0x1_0000_0005n),
        probe("low", "getpgid", 0, 5),
      ].join("\n"),
    );
    expect(results(exit.stdout)).toEqual({ masked: "errno 77", unmasked: "ok", wide: "errno 78", low: "ok" });
  });

  test("KILL and KILL_PROCESS end the caller with SIGSYS, TRACE without a tracer answers ENOSYS", async () => {
    const p = allowAllBut([
      // Syscalls neither the shell nor perl makes on their own.
      rule(["sysinfo"], "SCMP_ACT_KILL"),
      rule(["getcpu"], "SCMP_ACT_KILL_PROCESS"),
      rule(["getitimer"], "SCMP_ACT_TRACE"),
      rule(["sched_getscheduler"], "SCMP_ACT_TRAP"),
      rule(["sched_yield"], "SCMP_ACT_LOG"),
    ]);
    const exit = await runUnder(
      p,
      [
        probe("kill", "sysinfo", 0),
        probe("killproc", "getcpu", 0, 0, 0),
        probe("trace", "getitimer", 0, 0),
        probe("trap", "sched_getscheduler", 0),
        probe("log", "sched_yield"),
      ].join("\n"),
    );
    expect(results(exit.stdout)).toEqual({
      kill: `signal ${SIGSYS}`,
      killproc: `signal ${SIGSYS}`,
      trace: "errno 38",
      trap: `signal ${SIGSYS}`,
      log: "ok",
    });
  });

  test("an unknown syscall name is ignored and a repeated argument ORs its conditions", async () => {
    const p = allowAllBut([
      rule(["no_such_syscall_x", "getppid"], "SCMP_ACT_ERRNO", 77, [
        { index: 0, value: 1n, valueTwo: 0n, op: "SCMP_CMP_EQ" },
        { index: 0, value: 2n, valueTwo: 0n, op: "SCMP_CMP_EQ" },
      ]),
    ]);
    const exit = await runUnder(
      p,
      [probe("one", "getppid", 1), probe("two", "getppid", 2), probe("three", "getppid", 3)].join("\n"),
    );
    expect(results(exit.stdout)).toEqual({ one: "errno 77", two: "errno 77", three: "ok" });
  });
});

describe("the default profile", () => {
  test("lets a shell run busybox and coreutils, and denies unshare, mount, keyctl and reboot with EPERM", async () => {
    const exit = await runUnder(
      defaultSeccompProfile(),
      [
        `busybox mkdir ${dir}/d && busybox ls ${dir} && busybox rmdir ${dir}/d && echo busybox=ok`,
        "unshare -U true 2>/dev/null; echo unshare_cmd=$?",
        probe("unshare", "unshare", 0x10000000 /* CLONE_NEWUSER */),
        probe("mount", "mount", "none", `${dir}/missing`, "tmpfs", 0, 0), // ENOENT if allowed
        probe("keyctl", "keyctl", 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0),
        probe("reboot", "reboot", 0, 0, 0, 0),
        probe("getppid", "getppid"),
        probe("vsock", "socket", 40 /* AF_VSOCK */, 1, 0),
        probe("personality", "personality", 0x0040000 /* ADDR_NO_RANDOMIZE */),
        probeNr("future", 1000),
      ].join("\n"),
    );
    expect(results(exit.stdout)).toEqual({
      busybox: "ok",
      unshare_cmd: "1",
      unshare: "errno 1",
      mount: "errno 1",
      keyctl: "errno 1",
      reboot: "errno 1",
      getppid: "ok",
      vsock: "errno 1",
      personality: "errno 1",
      future: "errno 38",
    });
  });
});
