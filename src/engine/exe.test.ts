import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findExecutable, readInRoot } from "./exe.ts";

const root = mkdtempSync(join(tmpdir(), "leopard-exe-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(join(root, "bin"));
mkdirSync(join(root, "usr/bin"), { recursive: true });
writeFileSync(join(root, "bin/busybox"), "the container's busybox");
chmodSync(join(root, "bin/busybox"), 0o755);
symlinkSync("busybox", join(root, "bin/sh"));
symlinkSync("/bin/busybox", join(root, "usr/bin/abs"));
symlinkSync("../../../../../../etc/passwd", join(root, "usr/bin/escape"));
writeFileSync(join(root, "usr/bin/data"), "");
chmodSync(join(root, "usr/bin/data"), 0o644);

test("readInRoot follows links with the root as /", () => {
  expect(readInRoot(root, "/bin/sh")).toBe("the container's busybox");
  expect(readInRoot(root, "/usr/bin/abs")).toBe("the container's busybox");
  expect(readInRoot(root, "/usr/bin/escape")).toBe(""); // /etc/passwd inside the root: absent
  expect(readInRoot(root, "/../../bin/sh")).toBe("the container's busybox");
});

test.each([
  ["sh", { found: true, path: "/bin/sh" }],
  ["abs", { found: true, path: "/usr/bin/abs" }],
  ["/bin/sh", { found: true, path: "/bin/sh" }],
  ["nosuch", { found: false, code: 127, why: '"nosuch": executable file not found in $PATH' }],
  ["/nosuch", { found: false, code: 127, why: '"/nosuch": no such file or directory' }],
  ["data", { found: false, code: 126, why: 'permission denied: "/usr/bin/data" is not executable' }],
  ["/usr", { found: false, code: 126, why: 'permission denied: "/usr" is a directory' }],
  ["escape", { found: false, code: 127, why: '"escape": executable file not found in $PATH' }],
])("command %p", (cmd, want) =>
  expect(findExecutable(root, cmd, "/usr/bin:/bin", "/")).toEqual(want as ReturnType<typeof findExecutable>));
