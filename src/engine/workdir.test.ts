import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mkdirInRoot } from "./workdir.ts";

const top = mkdtempSync(join(tmpdir(), "leopard-workdir-"));
afterAll(() => rmSync(top, { recursive: true, force: true }));

test("-w /new/dir is made inside the root with its parents, mode 0755", () => {
  const root = join(top, "root1");
  mkdirSync(root);
  mkdirInRoot(root, "/new/dir");
  expect(statSync(join(root, "new/dir")).mode & 0o777).toBe(0o755);
  mkdirInRoot(root, "/new/dir"); // already there: nothing to do
});

test("a symlink in the image pointing out of the root never leads the mkdir out", () => {
  const root = join(top, "root2");
  const outside = join(top, "outside");
  mkdirSync(root);
  mkdirSync(outside);
  symlinkSync(outside, join(root, "escape"));
  mkdirSync(join(root, outside), { recursive: true });
  mkdirInRoot(root, "/escape/made");
  expect(existsSync(join(outside, "made"))).toBe(false);
  expect(existsSync(join(root, outside, "made"))).toBe(true);
  rmSync(join(root, "tmp"), { recursive: true });
  expect(() => mkdirInRoot(root, "/escape/other")).toThrow("openat2");
  expect(existsSync(join(outside, "other"))).toBe(false);
});
