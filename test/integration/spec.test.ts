// `leopard-oci spec` writes runc's default config.json; `--rootless` its rootless variant.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

  test("refuses to overwrite an existing config.json", () => {
    const s = specIn([]);
    const again = Bun.spawnSync([OCI, "spec"], { cwd: s.dir, stderr: "pipe" });
    expect(again.exitCode).not.toBe(0);
    expect(again.stderr.toString()).toMatch(/^leopard-oci: spec: file ".*config\.json" already exists\n$/);
  });
});
