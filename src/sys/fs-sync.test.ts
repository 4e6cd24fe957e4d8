// fs-sync against node:fs itself: the same answers, the same error codes, on a real temp tree.
import { afterAll, describe, expect, test } from "bun:test";
import * as node from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as fx from "./fs-sync.ts";

const dir = node.mkdtempSync(join(tmpdir(), "leopard-fs-sync-"));
afterAll(() => node.rmSync(dir, { recursive: true, force: true }));

function code(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code;
  }
}

describe("fs-sync gives node:fs's answers", () => {
  test("write, read, exists, stat", () => {
    const f = join(dir, "a.txt");
    fx.writeFileSync(f, "hello\n", { mode: 0o640 });
    expect(node.readFileSync(f, "utf8")).toBe("hello\n");
    expect(fx.readFileSync(f, "utf8")).toBe("hello\n");
    expect(Buffer.compare(fx.readFileSync(f), node.readFileSync(f))).toBe(0);
    expect(fx.existsSync(f)).toBe(true);
    expect(fx.existsSync(join(dir, "missing"))).toBe(false);
    expect(() => fx.accessSync(f, fx.constants.W_OK)).not.toThrow();
    expect(code(() => fx.accessSync(join(dir, "missing"), fx.constants.W_OK))).toBe(
      code(() => node.accessSync(join(dir, "missing"), node.constants.W_OK)),
    );
    const a = fx.statSync(f);
    const b = node.statSync(f);
    for (const k of [
      "dev",
      "ino",
      "mode",
      "nlink",
      "uid",
      "gid",
      "rdev",
      "size",
      "blksize",
      "blocks",
    ] as const)
      expect([k, a[k]]).toEqual([k, b[k]]);
    expect(Math.abs(a.mtimeMs - b.mtimeMs)).toBeLessThan(1);
    expect(a.mtimeNs).toBe(node.statSync(f, { bigint: true }).mtimeNs);
    expect(a.isFile()).toBe(true);
    expect(a.isDirectory()).toBe(false);
    const fd = fx.openSync(f, "r");
    expect(fx.fstatSync(fd).ino).toBe(b.ino);
    const buf = new Uint8Array(3);
    expect(fx.readSync(fd, buf, 0, 3, 1)).toBe(3);
    expect(new TextDecoder().decode(buf)).toBe("ell");
    fx.closeSync(fd);
  });

  test("symlinks: lstat, readlink, realpath", () => {
    const l = join(dir, "link");
    node.symlinkSync("a.txt", l);
    expect(fx.lstatSync(l).isSymbolicLink()).toBe(true);
    expect(fx.statSync(l).isFile()).toBe(true);
    expect(fx.readlinkSync(l)).toBe(node.readlinkSync(l));
    expect(fx.realpathSync(l)).toBe(node.realpathSync(l));
  });

  test("directories: mkdir (recursive), readdir, rename, rm", () => {
    const d = join(dir, "x/y/z");
    expect(fx.mkdirSync(d, { recursive: true, mode: 0o711 })).toBe(join(dir, "x"));
    expect(fx.mkdirSync(d, { recursive: true })).toBeUndefined();
    expect(node.statSync(d).mode & 0o777).toBe(0o711 & ~process.umask());
    expect(code(() => fx.mkdirSync(d))).toBe("EEXIST");
    fx.writeFileSync(join(d, "f"), "1");
    expect(fx.readdirSync(join(dir, "x/y")).sort()).toEqual(node.readdirSync(join(dir, "x/y")).sort());
    fx.renameSync(join(d, "f"), join(d, "g"));
    expect(node.readdirSync(d)).toEqual(["g"]);
    fx.chmodSync(join(d, "g"), 0o600);
    expect(node.statSync(join(d, "g")).mode & 0o777).toBe(0o600);
    fx.copyFileSync(join(d, "g"), join(d, "h"));
    expect(node.readFileSync(join(d, "h"), "utf8")).toBe("1");
    fx.rmSync(join(dir, "x"), { recursive: true, force: true });
    expect(node.existsSync(join(dir, "x"))).toBe(false);
    expect(code(() => fx.rmSync(join(dir, "x"), { recursive: true }))).toBe(
      code(() => node.rmSync(join(dir, "x"), { recursive: true })),
    );
    expect(() => fx.rmSync(join(dir, "x"), { force: true })).not.toThrow();
  });

  test("errors carry node's codes", () => {
    const missing = join(dir, "nope/nope");
    for (const [ours, theirs] of [
      [() => fx.readFileSync(missing, "utf8"), () => node.readFileSync(missing, "utf8")],
      [() => fx.statSync(missing), () => node.statSync(missing)],
      [() => fx.lstatSync(missing), () => node.lstatSync(missing)],
      [() => fx.readdirSync(missing), () => node.readdirSync(missing)],
      [() => fx.readlinkSync(join(dir, "a.txt")), () => node.readlinkSync(join(dir, "a.txt"))],
      [() => fx.openSync(missing, "r"), () => node.openSync(missing, "r")],
      [() => fx.mkdirSync(missing), () => node.mkdirSync(missing)],
      [() => fx.unlinkSync(missing), () => node.unlinkSync(missing)],
      [() => fx.renameSync(missing, `${missing}2`), () => node.renameSync(missing, `${missing}2`)],
    ] as const) {
      const c = code(ours);
      expect(c).toBeDefined();
      expect(c).toBe(code(theirs));
    }
    expect(fx.statSync(missing, { throwIfNoEntry: false })).toBeUndefined();
    expect(fx.statSync(join(dir, "a.txt/x"), { throwIfNoEntry: false })).toBeUndefined();
  });

  test("writeFileSync with flag wx refuses an existing file, as node", () => {
    const f = join(dir, "a.txt");
    expect(code(() => fx.writeFileSync(f, "x", { flag: "wx" }))).toBe("EEXIST");
    expect(node.readFileSync(f, "utf8")).toBe("hello\n");
  });
});
