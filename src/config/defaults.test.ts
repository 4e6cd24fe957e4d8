import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultSpec, OCI_VERSION } from "./defaults.ts";
import { validateSpec } from "./validate.ts";

const runc = Bun.which("runc");

/** The config.json `runc spec <flags>` writes, as text. */
function runcSpec(flags: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "leopard-runc-spec-"));
  try {
    const r = Bun.spawnSync(["runc", "spec", ...flags], { cwd: dir, stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`runc spec failed: ${r.stderr.toString()}`);
    return readFileSync(join(dir, "config.json"), "utf8");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Ours, as runc would write it (Go's MarshalIndent with a tab), with runc's ociVersion. */
function asRunc(ours: object, runcText: string): string {
  const version = (JSON.parse(runcText) as { ociVersion: string }).ociVersion;
  return JSON.stringify({ ...ours, ociVersion: version }, null, "\t");
}

describe.skipIf(runc === null)("defaultSpec matches the installed runc", () => {
  test("runc spec, field for field and byte for byte (ociVersion aside)", () => {
    const theirs = runcSpec([]);
    const ours = defaultSpec();
    expect({ ...ours, ociVersion: "" }).toEqual({ ...JSON.parse(theirs), ociVersion: "" });
    expect(asRunc(ours, theirs)).toBe(theirs);
  });

  test("runc spec --rootless, mapping root to this process's effective ids", () => {
    const theirs = runcSpec(["--rootless"]);
    const ours = defaultSpec({ rootless: true });
    expect({ ...ours, ociVersion: "" }).toEqual({ ...JSON.parse(theirs), ociVersion: "" });
    expect(asRunc(ours, theirs)).toBe(theirs);
  });
});

describe("defaultSpec", () => {
  test("writes leopard's ociVersion", () => {
    expect(defaultSpec().ociVersion).toBe(OCI_VERSION);
    expect(OCI_VERSION).toBe("1.2.0");
  });

  test("takes the args to run", () => {
    expect(defaultSpec({ args: ["/bin/true", "x"] }).process?.args).toEqual(["/bin/true", "x"]);
  });

  test("rootless: root maps to the given host ids, no network namespace, /sys bound from the host", () => {
    const spec = defaultSpec({ rootless: true, hostUid: 1000, hostGid: 1001 });
    expect(spec.linux?.uidMappings).toEqual([{ containerID: 0, hostID: 1000, size: 1 }]);
    expect(spec.linux?.gidMappings).toEqual([{ containerID: 0, hostID: 1001, size: 1 }]);
    expect(spec.linux?.namespaces?.map((n) => n.type)).toEqual(["pid", "ipc", "uts", "mount", "user"]);
    expect(spec.linux?.resources).toBeUndefined();
    expect(spec.mounts?.find((m) => m.destination === "/sys")).toEqual({
      destination: "/sys",
      type: "none",
      source: "/sys",
      options: ["rbind", "nosuid", "noexec", "nodev", "ro"],
    });
    expect(spec.mounts?.find((m) => m.destination === "/dev/pts")?.options).not.toContain("gid=5");
  });

  test("hardened: the given capabilities without inheritable or ambient, no_new_privs, the profile, extra masks", () => {
    const seccomp = { defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1 };
    const spec = defaultSpec({ hardened: { seccomp, capabilities: ["CAP_CHOWN", "CAP_KILL"] } });
    expect(spec.process?.capabilities).toEqual({
      bounding: ["CAP_CHOWN", "CAP_KILL"],
      effective: ["CAP_CHOWN", "CAP_KILL"],
      permitted: ["CAP_CHOWN", "CAP_KILL"],
    });
    expect(spec.process?.noNewPrivileges).toBe(true);
    expect(spec.linux?.seccomp).toEqual(seccomp);
    expect(spec.linux?.maskedPaths).toEqual([
      ...(defaultSpec().linux?.maskedPaths ?? []),
      "/sys/devices/virtual/powercap",
    ]);
    expect(validateSpec(spec, { bundle: "/b" }).linux.seccomp?.defaultAction).toBe("SCMP_ACT_ERRNO");
  });

  test("returns a fresh object each time", () => {
    const a = defaultSpec();
    a.process?.args?.push("changed");
    expect(defaultSpec().process?.args).toEqual(["sh"]);
  });

  test("round-trips through validation, rootful and rootless", () => {
    for (const opts of [{}, { rootless: true, hostUid: 1000, hostGid: 1000 }]) {
      const spec = validateSpec(defaultSpec(opts), { bundle: "/b" });
      expect(spec.process.args).toEqual(["sh"]);
      expect(spec.root.path).toBe("/b/rootfs");
      // What validation keeps of the JSON, it keeps as written.
      expect(spec.mounts.map((m) => [m.destination, m.type, m.source, m.options])).toEqual(
        (defaultSpec(opts).mounts ?? []).map((m) => [m.destination, m.type, m.source, m.options ?? []]),
      );
    }
  });
});
