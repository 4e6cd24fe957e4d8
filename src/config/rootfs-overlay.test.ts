import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { checkRootfsOverlay, parseRootfsMountns, parseRootfsOverlay } from "./rootfs-overlay.ts";

const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return "accepted";
};

describe("parseRootfsOverlay", () => {
  test("overlay's own option text: lowerdir (topmost first), upperdir, workdir in any order", () => {
    expect(parseRootfsOverlay("workdir=/c/w,lowerdir=/l/2:/l/1,upperdir=/c/u")).toEqual({
      lower: ["/l/2", "/l/1"],
      upper: "/c/u",
      work: "/c/w",
    });
  });

  const A = 'annotation "org.leopard.rootfs.overlay": ';
  test.each([
    ["lowerdir=/l,upperdir=/u", `${A}workdir is missing`],
    [
      "lowerdir=/l,upperdir=/u,workdir=/w,userxattr",
      `${A}"userxattr" is not lowerdir=, upperdir= or workdir=`,
    ],
    ["lowerdir=/l,upperdir=/u,workdir=/w,upperdir=/v", `${A}upperdir is given twice`],
    ["lowerdir=l,upperdir=/u,workdir=/w", `${A}lowerdir "l" is not an absolute path`],
    ["lowerdir=/l::/m,upperdir=/u,workdir=/w", `${A}lowerdir "" is not an absolute path`],
    ["lowerdir=/l,upperdir=/u\\,x,workdir=/w", `${A}"x" is not lowerdir=, upperdir= or workdir=`],
    [
      "lowerdir=/l,upperdir=/u\\x,workdir=/w",
      `${A}upperdir "/u\\x" contains a character overlay reads as a separator`,
    ],
    ["lowerdir=/l,upperdir=/u/../etc,workdir=/w", `${A}upperdir "/u/../etc" has a "." or ".." component`],
    [
      "lowerdir=/l,upperdir=/u,workdir=/w\nx",
      `${A}workdir "/w\nx" contains a character overlay reads as a separator`,
    ],
    ["", `${A}"" is not lowerdir=, upperdir= or workdir=`],
  ])("%p is refused", (value, message) => {
    expect(refusal(() => parseRootfsOverlay(value))).toBe(message);
  });
});

describe("parseRootfsMountns", () => {
  test("an absolute namespace file, with the overlay's directories; else one line naming the annotation", () => {
    expect(parseRootfsMountns("/proc/42/ns/mnt", true)).toBe("/proc/42/ns/mnt");
    expect(refusal(() => parseRootfsMountns("/proc/42/ns/mnt", false))).toBe(
      'annotation "org.leopard.rootfs.mountns": needs the annotation "org.leopard.rootfs.overlay" (the directories mounted there)',
    );
    expect(refusal(() => parseRootfsMountns("proc/42/ns/mnt", true))).toBe(
      'annotation "org.leopard.rootfs.mountns": "proc/42/ns/mnt" is not an absolute path',
    );
    expect(refusal(() => parseRootfsMountns("/proc/42/ns/mnt\n", true))).toBe(
      'annotation "org.leopard.rootfs.mountns": "/proc/42/ns/mnt\n" contains a control character',
    );
  });
});

describe("checkRootfsOverlay", () => {
  const d = mkdtempSync(`${tmpdir()}/leopard-ovl-`);
  afterAll(() => rmSync(d, { recursive: true, force: true }));
  for (const x of ["l1", "l2", "u", "w"]) mkdirSync(`${d}/${x}`);
  const o = { lower: [`${d}/l2`, `${d}/l1`], upper: `${d}/u`, work: `${d}/w` };

  test("existing directories of the caller are accepted", () => {
    expect(refusal(() => checkRootfsOverlay(o, process.geteuid?.() ?? 0))).toBe("accepted");
  });

  test("a missing one, or one of another user (rootless), is named", () => {
    expect(refusal(() => checkRootfsOverlay({ ...o, work: `${d}/nope` }, undefined))).toBe(
      `annotation "org.leopard.rootfs.overlay": workdir "${d}/nope" does not exist or is not a directory`,
    );
    expect(refusal(() => checkRootfsOverlay(o, 4242))).toBe(
      `annotation "org.leopard.rootfs.overlay": upperdir "${d}/u" is not owned by the caller (uid 4242)`,
    );
  });

  test("/proc as a symlink in the topmost layer that has it is refused; hidden below a directory it is not", () => {
    mkdirSync(`${d}/l2/sys`);
    symlinkSync("/etc", `${d}/l1/sys`);
    expect(refusal(() => checkRootfsOverlay(o, undefined))).toBe("accepted");
    symlinkSync("/etc", `${d}/l2/proc`);
    expect(refusal(() => checkRootfsOverlay(o, undefined))).toBe(
      'mount destination "/proc" is a symlink in the rootfs',
    );
  });
});
