import { afterAll, describe, expect, test } from "bun:test";
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { lsetxattr, mknod } from "./ffi.ts";
import { lookupLayered, mkdirLayered } from "./layered.ts";

// Three layers in overlay form, upper first, as a rootless unpack writes them: whiteouts are 0/0
// character devices (which an unprivileged user may make), opaque directories user.overlay.opaque.
const d = mkdtempSync(`${tmpdir()}/leopard-layered-`);
afterAll(() => rmSync(d, { recursive: true, force: true }));
const [up, mid, base] = [`${d}/upper`, `${d}/mid`, `${d}/base`];
const layers = [up, mid, base];
const file = (p: string, s: string) => {
  mkdirSync(p.slice(0, p.lastIndexOf("/")), { recursive: true });
  writeFileSync(p, s);
};
file(`${base}/etc/passwd`, "base");
file(`${base}/etc/gone`, "x");
file(`${base}/var/cache/old`, "old");
file(`${base}/usr/bin/busybox`, "bb");
mkdirSync(`${base}/bin`);
symlinkSync("/usr/bin/busybox", `${base}/bin/sh`);
symlinkSync("usr/bin", `${base}/sbin`);
file(`${mid}/etc/passwd`, "mid");
mknod(`${mid}/etc/gone`, 0o020000, 0n);
file(`${mid}/var/cache/new`, "new");
lsetxattr(`${mid}/var/cache`, "user.overlay.opaque", new TextEncoder().encode("y"));
mkdirSync(`${mid}/srv/..x`, { recursive: true });
mkdirSync(up);
symlinkSync("../../etc/../usr/bin/busybox", `${mid}/srv/..x/up`);

const host = (p: string, noFollow = false) => lookupLayered(layers, p, noFollow)?.host;

describe("lookupLayered", () => {
  test("the topmost layer with the name wins", () => {
    expect(host("/etc/passwd")).toBe(`${mid}/etc/passwd`);
    expect(host("/usr/bin/busybox")).toBe(`${base}/usr/bin/busybox`);
  });

  test("a 0/0 character device deletes what is below; an opaque directory hides the layers below it", () => {
    expect(host("/etc/gone")).toBeUndefined();
    expect(host("/var/cache/old")).toBeUndefined();
    expect(host("/var/cache/new")).toBe(`${mid}/var/cache/new`);
    expect(lookupLayered(layers, "/var/cache")?.dirs).toEqual([`${mid}/var/cache`]);
    expect(lookupLayered(layers, "/etc")?.dirs).toEqual([`${mid}/etc`, `${base}/etc`]);
  });

  test("symlinks resolve in the union, absolute ones and .. at its root, across layers", () => {
    expect(host("/bin/sh")).toBe(`${base}/usr/bin/busybox`);
    expect(host("/bin/sh", true)).toBe(`${base}/bin/sh`);
    expect(host("/sbin/busybox")).toBe(`${base}/usr/bin/busybox`);
    expect(host("/srv/..x/up")).toBe(`${base}/usr/bin/busybox`);
    expect(host("/../../../etc/passwd")).toBe(`${mid}/etc/passwd`);
    // .. after a symlink is the target's parent, as the kernel has it: /sbin/.. is /usr.
    expect(lookupLayered(layers, "/sbin/../bin/busybox")?.path).toBe("/usr/bin/busybox");
    expect(host("/sbin/../etc/passwd")).toBeUndefined();
  });

  test("fuse-overlayfs's opaque mark in an upper directory (user.fuseoverlayfs.opaque) hides the layers below too", () => {
    file(`${up}/var/cache/again`, "again");
    lsetxattr(`${up}/var/cache`, "user.fuseoverlayfs.opaque", new TextEncoder().encode("y"));
    expect(lookupLayered(layers, "/var/cache")?.dirs).toEqual([`${up}/var/cache`]);
    expect(host("/var/cache/new")).toBeUndefined();
    expect(host("/var/cache/again")).toBe(`${up}/var/cache/again`);
  });

  test("a file used as a directory, or a missing name, is not found", () => {
    expect(host("/etc/passwd/x")).toBeUndefined();
    expect(host("/nope")).toBeUndefined();
  });

  test("a symlink loop ends (not found)", () => {
    symlinkSync("/loop2", `${up}/loop1`);
    symlinkSync("/loop1", `${up}/loop2`);
    expect(host("/loop1")).toBeUndefined();
  });
});

describe("mkdirLayered", () => {
  test("makes the directory in the upper layer at the resolved path, parents from below with their modes", () => {
    mkdirSync(`${base}/opt`, { mode: 0o750 });
    mkdirLayered(layers, "/bin/../opt/app/data");
    expect(lstatSync(`${up}/opt`).mode & 0o7777).toBe(0o750);
    expect(lstatSync(`${up}/opt/app/data`).isDirectory()).toBe(true);
    expect(lookupLayered(layers, "/opt/app/data")?.host).toBe(`${up}/opt/app/data`);
    mkdirLayered(layers, "/sbin/newdir");
    expect(lstatSync(`${up}/usr/bin/newdir`).isDirectory()).toBe(true);
  });

  test("an existing directory needs nothing; a file on the path is refused", () => {
    mkdirLayered(layers, "/etc");
    expect(() => lstatSync(`${up}/etc`)).toThrow();
    expect(() => mkdirLayered(layers, "/etc/passwd/x")).toThrow(/is not a directory/);
    expect(readFileSync(`${mid}/etc/passwd`, "utf8")).toBe("mid");
  });
});
