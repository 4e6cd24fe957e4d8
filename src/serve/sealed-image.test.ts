import { afterEach, expect, test } from "bun:test";
import {
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeFd } from "../sys/seqpacket.ts";
import { ALL_SEALS, sealedCopy, sealedImage, sealsOf } from "./sealed-image.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function file(contents: string): string {
  const d = mkdtempSync(join(tmpdir(), "leopard-image-"));
  dirs.push(d);
  const p = join(d, "prog");
  writeFileSync(p, contents, { mode: 0o755 });
  return p;
}
const contentsOf = (fd: number) => readFileSync(`/proc/self/fd/${fd}`, "utf8");

test("a sealed copy holds the file's bytes, is a memfd, and carries every seal the helper requires", () => {
  const fd = sealedCopy(file("#!/bin/true\nbytes"));
  try {
    expect(contentsOf(fd)).toBe("#!/bin/true\nbytes");
    expect(readlinkSync(`/proc/self/fd/${fd}`)).toStartWith("/memfd:leopard-helper");
    expect(sealsOf(fd) & ALL_SEALS).toBe(ALL_SEALS);
    // F_SEAL_WRITE: no write succeeds, even through a fresh open of the same file.
    expect(() => writeFileSync(`/proc/self/fd/${fd}`, "x")).toThrow();
    expect(contentsOf(fd)).toBe("#!/bin/true\nbytes");
  } finally {
    closeFd(fd);
  }
});

test("an image is kept while the file is unchanged, and copied again once it changes", () => {
  const p = file("one");
  const first = sealedImage(p);
  expect(first).toBeNumber();
  expect(sealedImage(p)).toBe(first!);
  writeFileSync(p, "two, longer");
  const mtime = statSync(p).mtime;
  utimesSync(p, mtime, new Date(mtime.getTime() + 5000)); // a new mtime even within one tick
  const second = sealedImage(p);
  expect(second).toBeNumber();
  expect(contentsOf(second!)).toBe("two, longer");
  expect(sealsOf(second!) & ALL_SEALS).toBe(ALL_SEALS);
});

test("no image for a file that cannot be read: the program is then started from its path", () => {
  expect(sealedImage("/nonexistent/leopard-helper")).toBeUndefined();
});
