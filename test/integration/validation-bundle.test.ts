// The bundle runtime-spec validation programs (runtime-tools) make: the bundle directory is the
// root filesystem itself (root.path "."), a small static tree with bin dev etc proc sys and the
// test program, and their seccomp test's profile — allow by default, x86 architectures, a few
// allow rules, and getcwd denied. The container must run: the runtime's own working-directory
// check (CVE-2024-21626) happens before the filter is installed, so a profile may deny getcwd.
import { describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultSpec } from "../../src/config/defaults.ts";
import { type Bundle, oci, readState, TOP, trackBundles, until } from "./harness.ts";

const use = trackBundles();
const runc = Bun.which("runc");
type Json = Record<string, unknown>;

const PROBE_SRC = join(TOP, "test/integration/validation-probe.c");
const PROBE = join(TOP, "build/validation/validation-probe");

/** Builds the test program (static: the tree has no libc) when missing or older than its source. */
function probe(): string {
  if (!existsSync(PROBE) || statSync(PROBE).mtimeMs < statSync(PROBE_SRC).mtimeMs) {
    mkdirSync(join(TOP, "build/validation"), { recursive: true });
    const r = Bun.spawnSync(["cc", "-static", "-O1", "-Wall", "-o", `${PROBE}.tmp`, PROBE_SRC], {
      stderr: "pipe",
    });
    if (r.exitCode !== 0) throw new Error(`building the validation probe failed: ${r.stderr.toString()}`);
    Bun.spawnSync(["mv", `${PROBE}.tmp`, PROBE]);
  }
  return PROBE;
}

/** runtime-tools' seccomp test profile: getcwd fails with EPERM, everything else is allowed. */
const VALIDATION_SECCOMP: Json = {
  defaultAction: "SCMP_ACT_ALLOW",
  architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  syscalls: [
    {
      names: ["personality"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 0, value: 8, valueTwo: 0, op: "SCMP_CMP_EQ" }],
    },
    { names: ["chroot"], action: "SCMP_ACT_ALLOW" },
    { names: ["arch_prctl"], action: "SCMP_ACT_ALLOW" },
    { names: ["getcwd"], action: "SCMP_ACT_ERRNO" },
  ],
};

let n = 0;

/** A bundle that is its own root filesystem: busybox, the test program, config.json. */
function validationBundle(opts: { seccomp: boolean; noNewPrivileges: boolean; args?: string[] }): Bundle {
  n++;
  const dir = mkdtempSync(join(tmpdir(), "leopard-validation-"));
  for (const d of ["bin", "dev", "etc", "proc", "sys"]) mkdirSync(join(dir, d));
  copyFileSync("/bin/busybox", join(dir, "bin/busybox"));
  copyFileSync(probe(), join(dir, "runtimetest"));
  const config = defaultSpec({ args: opts.args ?? ["/runtimetest"] }) as unknown as Json;
  const proc = config["process"] as Json;
  proc["terminal"] = false;
  proc["noNewPrivileges"] = opts.noNewPrivileges;
  config["root"] = { path: ".", readonly: false };
  const linux = config["linux"] as Json;
  linux["cgroupsPath"] = `/leopard-test/validation-${process.pid}-${n}`;
  if (opts.seccomp) linux["seccomp"] = VALIDATION_SECCOMP;
  // The state directory lives beside the bundle, not in the container's root.
  const root = `${dir}-state`;
  const b: Bundle = {
    dir,
    root,
    config,
    write() {
      writeFileSync(join(dir, "config.json"), JSON.stringify(config, null, 2));
    },
    cleanup() {
      for (const id of ["c1"])
        Bun.spawnSync([join(TOP, "bin/leopard-oci"), "--root", root, "delete", "--force", id]);
      rmSync(dir, { recursive: true, force: true });
      rmSync(root, { recursive: true, force: true });
    },
  };
  b.write();
  return b;
}

describe('the runtime-spec validation bundle (root.path ".")', () => {
  test("without a seccomp section it runs, and the program finds its working directory at /", () => {
    const b = use(validationBundle({ seccomp: false, noNewPrivileges: false }));
    const r = oci(b, ["run", "c1"]);
    expect(r).toEqual({ code: 0, stdout: "getcwd: /\n", stderr: "" });
  });

  for (const noNewPrivileges of [false, true]) {
    test(`with the profile that denies getcwd it runs, and getcwd fails with EPERM inside (noNewPrivileges ${noNewPrivileges})`, () => {
      const b = use(validationBundle({ seccomp: true, noNewPrivileges }));
      const r = oci(b, ["run", "c1"]);
      expect(r).toEqual({ code: 0, stdout: "getcwd: EPERM\n", stderr: "" });
    });
  }

  test("with that profile create succeeds, start runs the program, delete removes it", async () => {
    const b = use(validationBundle({ seccomp: true, noNewPrivileges: false }));
    const c = oci(b, ["create", "c1"]);
    expect(c).toMatchObject({ code: 0, stderr: "" });
    expect(readState(b, "c1")["status"]).toBe("created");
    expect(oci(b, ["start", "c1"]).code).toBe(0);
    await until(() => readState(b, "c1")["status"] === "stopped", 15_000, "the container to stop");
    expect(oci(b, ["delete", "c1"])).toMatchObject({ code: 0, stderr: "" });
  });

  test("with that profile exec runs the program in the running container the same way", () => {
    const b = use(
      validationBundle({ seccomp: true, noNewPrivileges: false, args: ["/bin/busybox", "sleep", "60"] }),
    );
    expect(oci(b, ["run", "-d", "c1"])).toMatchObject({ code: 0, stderr: "" });
    expect(oci(b, ["exec", "c1", "/runtimetest"])).toEqual({
      code: 0,
      stdout: "getcwd: EPERM\n",
      stderr: "",
    });
    expect(oci(b, ["delete", "--force", "c1"]).code).toBe(0);
  });

  // (runc 1.1.12 and later, and Debian's 1.1.5 with the CVE-2024-21626 backport, refuse the
  // profile: "failed to verify if current working directory is safe: operation not permitted".)
  test.skipIf(runc === null)("runc runs the same bundle without the profile and prints the same", () => {
    const b = use(validationBundle({ seccomp: false, noNewPrivileges: false }));
    const runcRoot = `${b.dir}-runc`;
    const r = Bun.spawnSync(
      [runc ?? "runc", "--root", runcRoot, "run", "-b", b.dir, `leopard-validation-${n}`],
      {
        cwd: b.dir,
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    rmSync(runcRoot, { recursive: true, force: true });
    expect(r.stdout.toString()).toBe("getcwd: /\n");
    expect(r.exitCode).toBe(0);
  });
});
