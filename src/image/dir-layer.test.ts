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
