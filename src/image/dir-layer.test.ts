import { expect, test } from "bun:test";
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirEntries } from "./dir-layer.ts";
import { lsetxattr, makedev, mknod, S_IFCHR } from "./ffi.ts";

const root = process.getuid?.() === 0;

test.skipIf(!root)("an overlay upper directory becomes OCI entries: whiteouts, opaque dirs, links", () => {
  const d = mkdtempSync(`${tmpdir()}/dir-layer-`);
  try {
    mkdirSync(`${d}/etc`);
    writeFileSync(`${d}/etc/a`, "A");
    linkSync(`${d}/etc/a`, `${d}/etc/b`);
    symlinkSync("/etc/a", `${d}/etc/s`);
    mknod(`${d}/etc/gone`, S_IFCHR | 0o000, makedev(0, 0));
    mkdirSync(`${d}/opq`);
    lsetxattr(`${d}/opq`, "trusted.overlay.opaque", new TextEncoder().encode("y"));
    mkdirSync(`${d}/proc`);
    const got = [...dirEntries(d, { exclude: new Set(["proc"]) })].map((e) => [
      e.name,
      e.type,
      e.linkname ?? "",
    ]);
    expect(got).toEqual([
      ["etc", "dir", ""],
      ["etc/a", "file", ""],
      ["etc/b", "link", "etc/a"],
      ["etc/.wh.gone", "file", ""],
      ["etc/s", "symlink", "/etc/a"],
      ["opq", "dir", ""],
      ["opq/.wh..wh..opq", "file", ""],
    ]);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test.skipIf(!root)(
  "fuse-overlayfs's upper directory: its opaque mark and bookkeeping entries make one marker",
  () => {
    const d = mkdtempSync(`${tmpdir()}/dir-layer-`);
    try {
      // As fuse-overlayfs 1.10 leaves a directory removed and made again (test/rootless/fuse-overlayfs.test.ts).
      mkdirSync(`${d}/cache`);
      lsetxattr(`${d}/cache`, "user.fuseoverlayfs.opaque", new TextEncoder().encode("y"));
      writeFileSync(`${d}/cache/.wh..wh..opq`, "");
      mknod(`${d}/cache/.wh..opq`, S_IFCHR | 0o000, makedev(0, 0));
      writeFileSync(`${d}/cache/again`, "again");
      mknod(`${d}/gone`, S_IFCHR | 0o000, makedev(0, 0));
      const got = [...dirEntries(d, { overlayXattr: "user" })].map((e) => [e.name, e.type]);
      expect(got).toEqual([
        ["cache", "dir"],
        ["cache/.wh..wh..opq", "file"],
        ["cache/again", "file"],
        [".wh.gone", "file"],
      ]);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  },
);
