import { expect, test } from "bun:test";
import {
  attrsFor,
  placement,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFREG,
  S_IFSOCK,
  sourceSpec,
  splitArg,
} from "./copy-plan.ts";

test("splitArg: CONTAINER:PATH, and host paths that contain a colon", () => {
  expect(splitArg("web:/etc/hosts")).toEqual({ ref: "web", path: "/etc/hosts" });
  expect(splitArg("web:")).toEqual({ ref: "web", path: "/" });
  expect(splitArg("/tmp/a:b")).toEqual({ path: "/tmp/a:b" });
  expect(splitArg("./a:b")).toEqual({ path: "./a:b" });
  expect(splitArg("plain")).toEqual({ path: "plain" });
});

test.each([
  ["/etc/passwd", false, { parent: "/etc", base: "passwd", contents: false, follow: false }],
  ["/etc/passwd", true, { parent: "/etc", base: "passwd", contents: false, follow: true }],
  ["/etc/", false, { parent: "/", base: "etc", contents: false, follow: true }],
  ["/etc/.", false, { parent: "/", base: "etc", contents: true, follow: true }],
  ["/", false, { parent: "/", base: "", contents: false, follow: true }],
  ["/a//b/../c", false, { parent: "/a", base: "c", contents: false, follow: false }],
  ["rel/x", false, { parent: "rel", base: "x", contents: false, follow: false }],
  [".", false, { parent: ".", base: ".", contents: true, follow: true }],
])("sourceSpec(%p, -L %p)", (path, follow, want) => {
  expect(sourceSpec(path, follow)).toEqual(want);
});

const file = { isDir: false, spec: sourceSpec("/s/f", false), name: "/s/f" };
const dir = { isDir: true, spec: sourceSpec("/s/d", false), name: "/s/d" };
const contents = { isDir: true, spec: sourceSpec("/s/d/.", false), name: "/s/d/." };

test("placement follows docker cp's table", () => {
  // SRC a file.
  expect(placement(file, "/out", "none")).toEqual({ kind: "as", name: "out" });
  expect(placement(file, "/out/", "none").kind).toBe("error");
  expect(placement(file, "/out", "file")).toEqual({ kind: "as", name: "out" });
  expect(placement(file, "/out/", "file").kind).toBe("error");
  expect(placement(file, "/out", "dir")).toEqual({ kind: "into", name: "f" });
  // SRC a directory.
  expect(placement(dir, "/out", "none")).toEqual({ kind: "as", name: "out" });
  expect(placement(dir, "/out/", "none")).toEqual({ kind: "as", name: "out" });
  expect(placement(dir, "/out", "file")).toEqual({
    kind: "error",
    message: 'cannot copy directory "/s/d" over file "/out"',
  });
  expect(placement(dir, "/out", "dir")).toEqual({ kind: "into", name: "d" });
  expect(placement(contents, "/out", "dir")).toEqual({ kind: "contents" });
  expect(placement(contents, "/out", "none")).toEqual({ kind: "as", name: "out" });
  // "/." of a file has no contents; the root copied into a directory is called "root".
  expect(placement({ ...file, spec: sourceSpec("/s/f/.", false) }, "/out", "dir").kind).toBe("error");
  expect(placement({ isDir: true, spec: sourceSpec("/", false), name: "/" }, "/out", "dir")).toEqual({
    kind: "into",
    name: "root",
  });
  expect(placement(file, "/", "none").kind).toBe("error");
  expect(placement(file, "..", "none").kind).toBe("error");
});

test("attrsFor: without -a the policy's owner, setuid/setgid dropped when asked, special files left out", () => {
  const owner = { uid: 1000, gid: 100 };
  const out = { archive: false, owner, dropSetid: true };
  const into = { archive: false, owner: { uid: 0, gid: 0 }, dropSetid: false };
  const arch = { archive: true, owner, dropSetid: true };
  const suid = { mode: S_IFREG | 0o4755, uid: 0, gid: 0 };
  expect(attrsFor(suid, out)).toEqual({ uid: 1000, gid: 100, perm: 0o755 });
  expect(attrsFor({ ...suid, mode: S_IFREG | 0o2711 }, out)).toEqual({ uid: 1000, gid: 100, perm: 0o711 });
  expect(attrsFor({ mode: S_IFDIR | 0o1777, uid: 5, gid: 5 }, out)).toEqual({
    uid: 1000,
    gid: 100,
    perm: 0o1777,
  });
  expect(attrsFor({ ...suid, uid: 7 }, into)).toEqual({ uid: 0, gid: 0, perm: 0o4755 });
  expect(attrsFor({ ...suid, uid: 7, gid: 8 }, arch)).toEqual({ uid: 7, gid: 8, perm: 0o4755 });
  const dev = { mode: S_IFCHR | 0o666, uid: 0, gid: 0 };
  expect(attrsFor(dev, out)).toEqual({ skip: "a character device is copied only with -a" });
  expect(attrsFor({ ...dev, mode: S_IFIFO | 0o644 }, into)).toEqual({
    skip: "a FIFO is copied only with -a",
  });
  expect(attrsFor(dev, arch)).toEqual({ uid: 0, gid: 0, perm: 0o666 });
  expect(attrsFor({ ...dev, mode: S_IFSOCK | 0o755 }, arch)).toEqual({ skip: "a socket cannot be copied" });
});
