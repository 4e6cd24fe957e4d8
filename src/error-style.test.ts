// Every error a user can see is a LeopardError with a code (src/util/errors.ts), and no error is
// swallowed without a word: an empty catch block says in a comment why ignoring is safe.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { productionSources } from "./testing.ts";

const SRC = new URL(".", import.meta.url).pathname;

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split("\n").length;
}

test("no `throw new Error` in production code: a LeopardError with a code instead", () => {
  const found: string[] = [];
  for (const f of productionSources(SRC)) {
    const text = readFileSync(f, "utf8");
    for (const m of text.matchAll(/throw new Error\(/g))
      found.push(`${f.slice(SRC.length)}:${lineOf(text, m.index)}`);
  }
  expect(found).toEqual([]);
});

test("no empty catch block: each says why ignoring the error is safe", () => {
  const found: string[] = [];
  for (const f of productionSources(SRC)) {
    const text = readFileSync(f, "utf8");
    for (const m of text.matchAll(/catch\s*(\([^)]*\))?\s*\{\s*\}/g))
      found.push(`${f.slice(SRC.length)}:${lineOf(text, m.index)}`);
  }
  expect(found).toEqual([]);
});
