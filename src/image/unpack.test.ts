import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { sha256 } from "./digest.ts";
import { lgetxattr, lsetxattr } from "./ffi.ts";
import { type TarEntry, tarBytes } from "./tar-write.ts";
import { entryComponents, paxXattrs, unpackLayer } from "./unpack.ts";

let dir: string;
let outside: string;
beforeEach(() => {
  dir = mkdtempSync(`${tmpdir()}/leopard-img-unpack-`);
  outside = mkdtempSync(`${tmpdir()}/leopard-img-outside-`);
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

async function* once(b: Uint8Array): AsyncGenerator<Uint8Array> {
  // Split in odd pieces so the parser sees entries cross chunk boundaries.
  for (let i = 0; i < b.length; i += 777) yield b.subarray(i, i + 777);
}

const text = (s: string) => new TextEncoder().encode(s);
const isRoot = process.getuid?.() === 0;

async function unpack(entries: TarEntry[]) {
  return unpackLayer(once(await tarBytes(entries)), dir);
}

describe("unpackLayer", () => {
  test("writes files, directories, symlinks and hardlinks with modes, owners and mtimes", async () => {
    const r = await unpack([
      { name: "etc", type: "dir", mode: 0o755, mtime: 1000 },
      { name: "etc/hostname", type: "file", data: text("box\n"), mode: 0o640, uid: 12, gid: 34, mtime: 2000 },
      { name: "bin/sh", type: "file", data: text("#!"), mode: 0o4755 },
      { name: "bin/ash", type: "link", linkname: "bin/sh" },
      { name: "etc/alias", type: "symlink", linkname: "/etc/hostname", mtime: 3000 },
      { name: "tmp", type: "dir", mode: 0o1777, mtime: 4000 },
    ]);
    expect(r.entries).toBe(6);
    expect(readFileSync(`${dir}/etc/hostname`, "utf8")).toBe("box\n");
    const st = lstatSync(`${dir}/etc/hostname`);
    expect(st.mode & 0o7777).toBe(0o640);
    expect(st.mtimeMs).toBe(2000_000);
    if (isRoot) expect([st.uid, st.gid]).toEqual([12, 34]);
    expect(lstatSync(`${dir}/bin/sh`).mode & 0o7777).toBe(0o4755);
    expect(lstatSync(`${dir}/bin/ash`).ino).toBe(lstatSync(`${dir}/bin/sh`).ino);
    expect(readlinkSync(`${dir}/etc/alias`)).toBe("/etc/hostname");
    expect(lstatSync(`${dir}/etc/alias`).mtimeMs).toBe(3000_000);
    expect(lstatSync(`${dir}/tmp`).mode & 0o7777).toBe(0o1777);
    expect(lstatSync(`${dir}/etc`).mtimeMs).toBe(1000_000);
  });

  test("returns the digest and size of the uncompressed tar for plain, gzip and zstd layers", async () => {
    const tar = await tarBytes([{ name: "a", type: "file", data: text("hello") }]);
    for (const blob of [tar, gzipSync(tar), zstdCompressSync(tar)]) {
      rmSync(dir, { recursive: true });
      dir = mkdtempSync(`${tmpdir()}/leopard-img-unpack-`);
      const r = await unpackLayer(once(new Uint8Array(blob)), dir);
      expect(r.diffId).toBe(sha256(tar));
      expect(r.size).toBe(tar.length);
      expect(readFileSync(`${dir}/a`, "utf8")).toBe("hello");
    }
  });

  test.skipIf(!isRoot)(
    "turns whiteouts into 0/0 character devices and opaque markers into the overlay xattr",
    async () => {
      await unpack([
        { name: "etc/.wh.motd", type: "file" },
        { name: "var/cache/.wh..wh..opq", type: "file" },
        { name: "var/cache/kept", type: "file", data: text("x") },
      ]);
      const st = lstatSync(`${dir}/etc/motd`);
      expect(st.isCharacterDevice()).toBe(true);
      expect(st.rdev).toBe(0);
      expect(existsSync(`${dir}/etc/.wh.motd`)).toBe(false);
      expect(new TextDecoder().decode(lgetxattr(`${dir}/var/cache`, "trusted.overlay.opaque"))).toBe("y");
      expect(readFileSync(`${dir}/var/cache/kept`, "utf8")).toBe("x");
    },
  );

  test.skipIf(!isRoot)(
    "a whiteout written as podman does, a regular file with a stray link name: still a whiteout; the DiffID is of the bytes as sent",
    async () => {
      const tar = await tarBytes([
        { name: "bin/.wh.vi", type: "file" },
        { name: "d/.wh.gone", type: "link", linkname: "bin/vi" },
        { name: "d/keep", type: "file", data: text("y\n") },
      ]);
      // containers/storage: overlay whiteouts share an inode, so the second is recorded as a
      // hard link to the first, then turned into a regular file with the link name kept.
      let patched = 0;
      for (let o = 0; o + 512 <= tar.length; o += 512) {
        const h = tar.subarray(o, o + 512);
        if (new TextDecoder().decode(h.subarray(0, 10)) !== "d/.wh.gone") continue;
        h[156] = 0x30;
        let sum = 8 * 0x20;
        for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) sum += h[i] ?? 0;
        h.set(text(`${sum.toString(8).padStart(6, "0")}\0 `), 148);
        patched++;
      }
      expect(patched).toBe(1);
      const digest = sha256(tar);
      const r = await unpackLayer(once(tar), dir);
      expect(r.diffId).toBe(digest);
      expect(lstatSync(`${dir}/d/gone`).isCharacterDevice()).toBe(true);
      expect(lstatSync(`${dir}/bin/vi`).isCharacterDevice()).toBe(true);
      expect(readFileSync(`${dir}/d/keep`, "utf8")).toBe("y\n");
    },
  );

  test.skipIf(!isRoot)("creates device nodes and fifos", async () => {
    await unpack([
      { name: "dev/null", type: "char", devmajor: 1, devminor: 3, mode: 0o666 },
      { name: "dev/sda", type: "block", devmajor: 8, devminor: 0, mode: 0o660 },
      { name: "run/fifo", type: "fifo", mode: 0o600 },
    ]);
    const n = lstatSync(`${dir}/dev/null`);
    expect(n.isCharacterDevice()).toBe(true);
    expect(n.rdev).toBe(0x103);
    expect(n.mode & 0o777).toBe(0o666);
    expect(lstatSync(`${dir}/dev/sda`).isBlockDevice()).toBe(true);
    expect(lstatSync(`${dir}/run/fifo`).isFIFO()).toBe(true);
  });

  test("keeps user xattrs and binary file capabilities from pax records byte for byte", async () => {
    // cap_setuid,cap_setfcap=ep: bytes above 0x7f, which a UTF-8 decoding would mangle.
    const cap = new Uint8Array([1, 0, 0, 2, 0x80, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    await unpack([
      {
        name: "f",
        type: "file",
        data: text("x"),
        xattrs: { "user.note": "hello", "security.capability": cap },
      },
    ]);
    expect(new TextDecoder().decode(lgetxattr(`${dir}/f`, "user.note"))).toBe("hello");
    if (isRoot) expect(lgetxattr(`${dir}/f`, "security.capability")).toEqual(cap);
  });

  test("ignores overlay xattrs carried in a layer", async () => {
    const warnings: string[] = [];
    const tar = await tarBytes([{ name: "d", type: "dir", xattrs: { "trusted.overlay.redirect": "/x" } }]);
    await unpackLayer(once(tar), dir, { warn: (m) => warnings.push(m) });
    expect(lgetxattr(`${dir}/d`, "trusted.overlay.redirect")).toBeUndefined();
    expect(warnings.join()).toContain("trusted.overlay.redirect");
  });

  test("long names survive through pax headers", async () => {
    const long = `${"d".repeat(90)}/${"f".repeat(90)}`;
    await unpack([{ name: long, type: "file", data: text("deep") }]);
    expect(readFileSync(`${dir}/${long}`, "utf8")).toBe("deep");
  });

  test("a later entry replaces an earlier one of another type", async () => {
    await unpack([
      { name: "x", type: "dir" },
      { name: "x/inner", type: "file", data: text("1") },
      { name: "x", type: "symlink", linkname: "elsewhere" },
    ]);
    expect(readlinkSync(`${dir}/x`)).toBe("elsewhere");
  });
});

describe("unpackLayer refuses hostile layers and names the entry", () => {
  test("an entry with ..", async () => {
    await expect(unpack([{ name: "a/../../escape", type: "file", data: text("x") }])).rejects.toThrow(
      'layer entry "a/../../escape" contains ".."',
    );
  });

  test("an absolute path", async () => {
    await expect(unpack([{ name: `${outside}/pwned`, type: "file", data: text("x") }])).rejects.toThrow(
      "has an absolute path",
    );
    expect(existsSync(`${outside}/pwned`)).toBe(false);
  });

  test("a symlink then a file written through it", async () => {
    await expect(
      unpack([
        { name: "link", type: "symlink", linkname: outside },
        { name: "link/pwned", type: "file", data: text("x") },
      ]),
    ).rejects.toThrow('layer entry "link/pwned" would be written through the symlink "link"');
    expect(existsSync(`${outside}/pwned`)).toBe(false);
  });

  test("a symlink then a directory created through it", async () => {
    await expect(
      unpack([
        { name: "link", type: "symlink", linkname: "../../../../../../../../tmp" },
        { name: "link/sub/file", type: "file", data: text("x") },
      ]),
    ).rejects.toThrow('would be written through the symlink "link"');
  });

  test("a hardlink to a file outside the tree", async () => {
    writeFileSync(`${outside}/secret`, "s");
    await expect(unpack([{ name: "h", type: "link", linkname: `${outside}/secret` }])).rejects.toThrow(
      'hardlink target of layer entry "h"',
    );
    await expect(
      unpack([{ name: "h2", type: "link", linkname: "../../../../../../etc/passwd" }]),
    ).rejects.toThrow('contains ".."');
  });

  test("a hardlink through a symlink in the tree", async () => {
    await expect(
      unpack([
        { name: "l", type: "symlink", linkname: "/etc" },
        { name: "h", type: "link", linkname: "l/passwd" },
      ]),
    ).rejects.toThrow('layer entry "h" is a hardlink through the non-directory "l"');
  });

  test("a stream that is not a tar", async () => {
    const junk = new Uint8Array(4096).map((_, i) => (i * 7 + 3) & 0xff);
    await expect(unpackLayer(once(junk), dir)).rejects.toThrow("layer is not a valid tar archive");
  });

  test("a truncated tar", async () => {
    const tar = await tarBytes([{ name: "big", type: "file", data: new Uint8Array(10000) }]);
    await expect(unpackLayer(once(tar.subarray(0, 3000)), dir)).rejects.toThrow(
      "layer is not a valid tar archive",
    );
  });

  test("a corrupt gzip stream", async () => {
    const gz = gzipSync(await tarBytes([{ name: "a", type: "file", data: new Uint8Array(100000).fill(7) }]));
    gz.fill(0x55, 40, 120);
    await expect(unpackLayer(once(new Uint8Array(gz)), dir)).rejects.toThrow("gzip stream is corrupt");
  });
});

describe("archives made by GNU tar", () => {
  test("binary xattrs, GNU long names and long links survive, byte for byte", async () => {
    const src = `${outside}/src`;
    const deep = `${"n".repeat(120)}/${"m".repeat(120)}`;
    mkdirSync(`${src}/${deep}`, { recursive: true });
    writeFileSync(`${src}/${deep}/file`, "deep");
    symlinkSync(`${"t".repeat(150)}`, `${src}/longlink`);
    writeFileSync(`${src}/bin`, "x");
    const value = new Uint8Array([0xff, 0x00, 0x80, 0x7f, 0xc3]);
    lsetxattr(`${src}/bin`, "user.blob", value);
    for (const format of ["gnu", "posix"]) {
      const tar = Bun.spawnSync([
        "tar",
        "-C",
        src,
        `--format=${format}`,
        "--xattrs",
        "--xattrs-include=user.*",
        "-cf",
        "-",
        ".",
      ]);
      expect(tar.exitCode).toBe(0);
      rmSync(dir, { recursive: true });
      dir = mkdtempSync(`${tmpdir()}/leopard-img-unpack-`);
      await unpackLayer(once(new Uint8Array(tar.stdout)), dir);
      expect(readFileSync(`${dir}/${deep}/file`, "utf8")).toBe("deep");
      expect(readlinkSync(`${dir}/longlink`)).toBe("t".repeat(150));
      if (format === "posix") expect(lgetxattr(`${dir}/bin`, "user.blob")).toEqual(value);
    }
  });
});

describe("helpers", () => {
  test("entryComponents drops . and empty parts", () => {
    expect(entryComponents("./a//b/./c/")).toEqual(["a", "b", "c"]);
    expect(entryComponents("./")).toEqual([]);
  });
  test("paxXattrs reads SCHILY.xattr records only", () => {
    const body = new TextEncoder().encode("30 SCHILY.xattr.user.a=hello\n20 path=some/where\n");
    expect([...paxXattrs(body).keys()]).toEqual(["user.a"]);
  });
});
