// `leopard-oci spec` writes runc's default config.json; `--rootless` its rootless variant.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_CAPABILITIES, defaultSeccompJson } from "../../src/seccomp/default-profile.ts";
import { OCI } from "./harness.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function specIn(args: string[]): {
  code: number;
  stderr: string;
  json: Record<string, unknown> | undefined;
  dir: string;
} {
  const dir = mkdtempSync(join(tmpdir(), "leopard-spec-"));
  dirs.push(dir);
  const r = Bun.spawnSync([OCI, "spec", ...args], { cwd: dir, stderr: "pipe" });
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, unknown>;
  } catch {}
  return { code: r.exitCode ?? -1, stderr: r.stderr.toString(), json, dir };
}

describe("spec", () => {
  test("writes runc's default config.json", () => {
    const ours = specIn([]);
    expect(ours.code).toBe(0);
    const runc = mkdtempSync(join(tmpdir(), "leopard-spec-runc-"));
    dirs.push(runc);
    expect(Bun.spawnSync(["runc", "spec"], { cwd: runc }).exitCode).toBe(0);
    const theirs = JSON.parse(readFileSync(join(runc, "config.json"), "utf8")) as Record<string, unknown>;
    expect({ ...ours.json, ociVersion: "" }).toEqual({ ...theirs, ociVersion: "" });
  });

  test("--rootless maps root to the caller and drops the network namespace", () => {
    const s = specIn(["--rootless"]);
    expect(s.code).toBe(0);
    const linux = s.json?.["linux"] as Record<string, unknown>;
    expect((linux["namespaces"] as { type: string }[]).map((n) => n.type)).toContain("user");
    expect((linux["namespaces"] as { type: string }[]).map((n) => n.type)).not.toContain("network");
    expect(linux["uidMappings"]).toEqual([{ containerID: 0, hostID: process.getuid?.() ?? 0, size: 1 }]);
  });

  test("--hardened adds the default seccomp profile, docker's capabilities, no_new_privs and masks", () => {
    const s = specIn(["--hardened"]);
    expect(s.code).toBe(0);
    const p = s.json?.["process"] as Record<string, unknown>;
    const linux = s.json?.["linux"] as Record<string, unknown>;
    expect(p["noNewPrivileges"]).toBe(true);
    expect(p["capabilities"]).toEqual({
      bounding: [...DEFAULT_CAPABILITIES],
      effective: [...DEFAULT_CAPABILITIES],
      permitted: [...DEFAULT_CAPABILITIES],
    });
    expect(linux["seccomp"]).toEqual(defaultSeccompJson());
    expect(linux["maskedPaths"]).toContain("/proc/kcore");
    expect(linux["maskedPaths"]).toContain("/sys/devices/virtual/powercap");
    expect(linux["readonlyPaths"]).toContain("/proc/sys");
    // The rest is runc's default.
    const plain = specIn([]);
    expect(s.json?.["mounts"]).toEqual(plain.json?.["mounts"]);
    const r = specIn(["--hardened", "--rootless"]);
    expect((r.json?.["linux"] as Record<string, unknown>)["seccomp"]).toEqual(defaultSeccompJson());
  });

  test("refuses to overwrite an existing config.json", () => {
    const s = specIn([]);
    const again = Bun.spawnSync([OCI, "spec"], { cwd: s.dir, stderr: "pipe" });
    expect(again.exitCode).not.toBe(0);
    expect(again.stderr.toString()).toMatch(/^leopard-oci: spec: file ".*config\.json" already exists\n$/);
  });
});
