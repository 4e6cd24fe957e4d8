import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { defaultSpec } from "./defaults.ts";
import { SpecError } from "./errors.ts";
import { loadSpec } from "./load.ts";

const dirs: string[] = [];
function bundle(config?: string): string {
  const dir = mkdtempSync(join(tmpdir(), "leopard-load-"));
  dirs.push(dir);
  if (config !== undefined) writeFileSync(join(dir, "config.json"), config);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function loadError(dir: string): SpecError {
  try {
    loadSpec(dir);
  } catch (err) {
    if (err instanceof SpecError) return err;
    throw err;
  }
  throw new Error("loadSpec succeeded");
}

describe("loadSpec", () => {
  test("reads and validates <bundle>/config.json, resolving root.path against the bundle", () => {
    const dir = bundle(JSON.stringify(defaultSpec()));
    const spec = loadSpec(dir);
    expect(spec.bundle).toBe(dir);
    expect(spec.root.path).toBe(join(dir, "rootfs"));
  });

  test("takes a bundle relative to the working directory", () => {
    const dir = bundle(JSON.stringify(defaultSpec()));
    expect(loadSpec(relative(process.cwd(), dir)).bundle).toBe(dir);
  });

  test("says so when the bundle has no config.json", () => {
    const dir = bundle();
    const err = loadError(dir);
    expect(err.message).toBe(`config.json: not found in the bundle "${dir}"`);
    expect(err.code).toBe("invalid-spec");
    expect(err.path).toBe(join(dir, "config.json"));
  });

  test("says so when config.json cannot be read", () => {
    const dir = bundle();
    mkdirSync(join(dir, "config.json"));
    expect(loadError(dir).message).toBe("config.json: cannot be read: is a directory");
  });

  test("quotes the parser when config.json is not JSON", () => {
    const err = loadError(bundle("{ not json"));
    expect(err.message).toStartWith("config.json: not valid JSON: ");
    expect(err.message.length).toBeGreaterThan("config.json: not valid JSON: ".length);
    expect(err.message).not.toContain("\n");
  });

  test("passes on validation errors", () => {
    const spec = defaultSpec();
    spec.ociVersion = "0.1";
    expect(loadError(bundle(JSON.stringify(spec))).message).toBe(
      'config.json: ociVersion "0.1" is not supported (need 1.0.0 or later)',
    );
  });
});
