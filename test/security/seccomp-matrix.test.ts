// Seccomp behaviour matrix: for a table of profiles, the same syscalls tried under leopard and
// under runc give the same results — the errno (including errnoRet and defaultErrnoRet), a
// killed process (SIGSYS from KILL_PROCESS or TRAP: exit status 159), or success. What stops
// each call is the filter; this proves leopard's compile of the OCI section matches runc's.
import { describe, expect, test } from "bun:test";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { defaultSeccompJson } from "../../src/seccomp/default-profile.ts";
import { hardenedBundle, oci, trackBundles } from "./harness.ts";

const use = trackBundles();
const runc = Bun.which("runc");
type Json = Record<string, unknown>;

const STEPS = ["mount", "keyctl", "unshare-user", "bpf", "perf", "raw", "shocker", "modules"];
const script = STEPS.map((s) => `/mnt/probe ${s}; echo "exit ${s}: $?"`).join("; ");

const rule = (names: string[], action: string, extra: Json = {}): Json => ({ names, action, ...extra });

const PROFILES: Record<string, Json> = {
  "the default profile": defaultSeccompJson(),
  "allow by default, one action per syscall": {
    defaultAction: "SCMP_ACT_ALLOW",
    syscalls: [
      rule(["mount"], "SCMP_ACT_ERRNO", { errnoRet: 38 }),
      rule(["keyctl", "add_key"], "SCMP_ACT_ERRNO"),
      rule(["unshare"], "SCMP_ACT_KILL_PROCESS"),
      rule(["bpf"], "SCMP_ACT_TRAP"),
      rule(["perf_event_open"], "SCMP_ACT_ERRNO", { errnoRet: 13 }),
      rule(["open_by_handle_at"], "SCMP_ACT_LOG"),
    ],
  },
  "argument conditions: equal, masked-equal and a 64-bit value": {
    defaultAction: "SCMP_ACT_ALLOW",
    syscalls: [
      // socket(AF_PACKET, ...) only.
      rule(["socket"], "SCMP_ACT_ERRNO", {
        errnoRet: 97,
        args: [{ index: 0, value: 17, op: "SCMP_CMP_EQ" }],
      }),
      // unshare with CLONE_NEWUSER among its flags.
      rule(["unshare"], "SCMP_ACT_ERRNO", {
        errnoRet: 22,
        args: [{ index: 0, value: 0x10000000, valueTwo: 0x10000000, op: "SCMP_CMP_MASKED_EQ" }],
      }),
      // A 64-bit comparison no real argument matches: mount stays allowed (and fails for want of rights).
      rule(["mount"], "SCMP_ACT_ERRNO", {
        errnoRet: 5,
        args: [{ index: 3, value: 2 ** 40, op: "SCMP_CMP_EQ" }],
      }),
      rule(["init_module", "finit_module"], "SCMP_ACT_ERRNO", { errnoRet: 38 }),
    ],
  },
  "deny by default with defaultErrnoRet": {
    ...defaultSeccompJson(),
    defaultErrnoRet: 38,
  },
};

describe.skipIf(runc === null)("seccomp matrix: leopard and runc agree", () => {
  let n = 0;
  for (const [name, profile] of Object.entries(PROFILES)) {
    test(name, () => {
      n++;
      const b = use(
        hardenedBundle({
          args: ["/bin/sh", "-c", script],
          edit: (c) => {
            (c["linux"] as Json)["seccomp"] = profile;
            (c["linux"] as Json)["cgroupsPath"] = `/leopard-test/matrix-${process.pid}-${n}`;
          },
        }),
      );
      const ours = oci(b, ["run", "c1"]);
      const runcRoot = join(b.dir, "runc-state");
      mkdirSync(runcRoot, { recursive: true });
      const theirs = Bun.spawnSync(
        [runc ?? "runc", "--root", runcRoot, "run", "-b", b.dir, `leopard-matrix-${n}`],
        {
          cwd: b.dir,
          stdout: "pipe",
          stderr: "pipe",
        },
      );
      rmSync(runcRoot, { recursive: true, force: true });
      const runcOut = theirs.stdout.toString();
      expect(theirs.exitCode).toBe(0);
      expect(runcOut).toContain("exit modules:");
      expect(ours.stdout).toBe(runcOut);
    });
  }
});
