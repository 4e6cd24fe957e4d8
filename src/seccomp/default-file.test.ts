import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { shippedProfileText } from "../../scripts/gen-seccomp-profile.ts";
import { readSeccomp } from "../config/validate-seccomp.ts";

const FILE = new URL("../../share/seccomp/default.json", import.meta.url).pathname;

describe("share/seccomp/default.json", () => {
  test("equals the generator's output (regenerate with scripts/gen-seccomp-profile.ts)", () => {
    expect(readFileSync(FILE, "utf8")).toBe(shippedProfileText());
  });

  test("is a valid OCI seccomp section that denies by default with EPERM", () => {
    const json = JSON.parse(readFileSync(FILE, "utf8")) as Record<string, unknown>;
    const s = readSeccomp(json, "linux.seccomp");
    expect(s.defaultAction).toBe("SCMP_ACT_ERRNO");
    expect(s.defaultErrnoRet).toBe(1);
    expect(s.architectures).toEqual(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    const allowed = new Set(s.syscalls.filter((r) => r.action === "SCMP_ACT_ALLOW").flatMap((r) => r.names));
    for (const name of ["read", "write", "execve", "clone", "ptrace"]) expect(allowed.has(name)).toBe(true);
    for (const name of [
      "mount",
      "umount2",
      "reboot",
      "init_module",
      "kexec_load",
      "bpf",
      "keyctl",
      "open_by_handle_at",
    ])
      expect(allowed.has(name)).toBe(false);
  });
});
