import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { productionSources } from "../testing.ts";
import { currentUmask } from "./umask.ts";

test("currentUmask reads the umask as set, and leaves it so", () => {
  const old = process.umask(0o027);
  try {
    expect(currentUmask()).toBe(0o027);
    process.umask(0o002);
    expect(currentUmask()).toBe(0o002);
    expect(currentUmask()).toBe(0o002);
  } finally {
    process.umask(old);
  }
});

const SRC = new URL("..", import.meta.url).pathname;

test("no production code reads the umask with process.umask(): it sets it twice, a race between threads", () => {
  // Code only: comments may name the call they warn about.
  const code = (f: string) => readFileSync(f, "utf8").replace(/\/\/.*$/gm, "");
  const found = productionSources(SRC).filter((f) => /process\.umask\(\s*\)/.test(code(f)));
  expect(found.map((f) => f.slice(SRC.length))).toEqual([]);
});
