// The copy root's defence: /proc/PID/root is used only when it is the container's root filesystem.
import { afterAll, expect, test } from "bun:test";
import { closeSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { viewOf, withCopyRoot } from "./copy-root.ts";

const dir = mkdtempSync(join(tmpdir(), "leopard-copy-root-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a pid whose root is not the container's rootfs (a reused pid: a host process) is not used", async () => {
  // This process's root is the host's "/", not `dir`: as a host process that got a dead container's pid.
  expect(viewOf(dir, process.pid)).toBeUndefined();
  expect(await withCopyRoot(dir, process.pid, async (root) => root)).toBe(dir);
});

test("a pid whose root is the rootfs is seen through a pinned fd; no pid: the rootfs", async () => {
  const fd = viewOf("/", process.pid);
  expect(fd).toBeNumber();
  closeSync(fd as number);
  expect(await withCopyRoot("/", process.pid, async (root) => root)).toMatch(/^\/proc\/self\/fd\/\d+$/);
  expect(await withCopyRoot(dir, 0, async (root) => root)).toBe(dir);
  expect(viewOf(dir, 2 ** 22 + 12345)).toBeUndefined(); // no such process
});
