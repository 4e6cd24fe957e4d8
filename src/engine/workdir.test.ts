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
  // The link dangling inside the root: docker makes its target, here inside the root as well.
  rmSync(join(root, "tmp"), { recursive: true });
  mkdirInRoot(root, "/escape/other");
  expect(existsSync(join(outside, "other"))).toBe(false);
  expect(statSync(join(root, outside, "other")).isDirectory()).toBe(true);
});

test("a dangling relative link, a chain of links, a loop", () => {
  const root = join(top, "root3");
  mkdirSync(join(root, "a"), { recursive: true });
  symlinkSync("../b/c", join(root, "a/rel")); // /a/rel -> /b/c, missing
  mkdirInRoot(root, "/a/rel/d");
  expect(statSync(join(root, "b/c/d")).isDirectory()).toBe(true);
  symlinkSync("/one", join(root, "two"));
  symlinkSync("/three", join(root, "one"));
  mkdirInRoot(root, "/two/x");
  expect(statSync(join(root, "three/x")).isDirectory()).toBe(true);
  symlinkSync("/loop2", join(root, "loop1"));
  symlinkSync("/loop1", join(root, "loop2"));
  expect(() => mkdirInRoot(root, "/loop1/x")).toThrow();
});
