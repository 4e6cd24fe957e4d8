import { afterAll, describe, expect, test } from "bun:test";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname } from "node:path";
import { BuildContext, treeDigest } from "./context.ts";

const dir = mkdtempSync(`${tmpdir()}/build-ctx-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ctx(files: Record<string, string>, links: Record<string, string> = {}): string {
  const d = mkdtempSync(`${dir}/c-`);
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(dirname(`${d}/${p}`), { recursive: true });
    writeFileSync(`${d}/${p}`, c);
  }
  for (const [p, target] of Object.entries(links)) symlinkSync(target, `${d}/${p}`);
  return d;
}

describe("BuildContext", () => {
  test("sources: plain paths, wildcards, .dockerignore (with an exception)", () => {
    const c = new BuildContext(
      ctx({ "a.txt": "", "b.txt": "", "c.log": "", "keep.log": "", ".dockerignore": "*.log\n!keep.log\n" }),
    );
    expect(c.resolve("a.txt", "COPY")).toEqual(["a.txt"]);
    expect(c.resolve("./a.txt", "COPY")).toEqual(["a.txt"]);
    expect(c.resolve(".", "COPY")).toEqual([""]);
    expect(c.resolve("*.txt", "COPY")).toEqual(["a.txt", "b.txt"]);
    expect(c.resolve("*.log", "COPY")).toEqual(["keep.log"]);
    expect(() => c.resolve("c.log", "COPY")).toThrow("(excluded by .dockerignore)");
    expect(() => c.resolve("*.nope", "COPY")).toThrow('COPY source "*.nope" matches nothing');
  });
  test("a source outside the context, by .. or through a symbolic link, is refused", () => {
    const outside = ctx({ secret: "s" });
    const c = new BuildContext(ctx({ "in/f": "" }, { out: outside, self: "." }));
    expect(() => c.resolve("../x", "COPY")).toThrow('COPY source "../x" is outside the build context');
    expect(() => c.resolve("out/secret", "COPY")).toThrow(
      "is outside the build context (through a symbolic link)",
    );
    expect(c.resolve("self/in/f", "COPY")).toEqual(["self/in/f"]);
    // The link itself is a source, copied as the link.
    expect(c.resolve("out", "COPY")).toEqual(["out"]);
    const into = mkdtempSync(`${dir}/s-`);
    expect(c.stage("out", into)).toBe("file");
    expect(readlinkSync(`${into}/out`)).toBe(outside);
  });
  test("staging a directory filters it; the digest follows content and modes", () => {
    const src = ctx({ "d/a": "1", "d/x.log": "no", "d/sub/b": "2", ".dockerignore": "**/*.log" });
    const c = new BuildContext(src);
    const into = mkdtempSync(`${dir}/s-`);
    expect(c.stage("d", into)).toBe("dir");
    expect(readdirSync(into).sort()).toEqual(["a", "sub"]);
    const d1 = treeDigest(into);
    writeFileSync(`${into}/a`, "2");
    expect(treeDigest(into)).not.toBe(d1);
  });
});
