// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile variables, not templates
import { describe, expect, test } from "bun:test";
import { expandWord, expandWords, keyValues, splitWords } from "./expand.ts";

const vars = new Map([
  ["A", "x"],
  ["E", ""],
  ["SP", "a b"],
]);

describe("expandWord follows docker's shell lexer", () => {
  const cases: [string, string][] = [
    ["$A", "x"],
    ["${A}", "x"],
    ["pre${A}post", "prexpost"],
    ["$Apost", ""],
    ["$NOPE", ""],
    ["${NOPE:-d}", "d"],
    ["${E:-d}", "d"],
    ["${E-d}", ""],
    ["${NOPE-d}", "d"],
    ["${A:+alt}", "alt"],
    ["${E:+alt}", ""],
    ["${E+alt}", "alt"],
    ["${NOPE:-${A}y}", "xy"],
    ["'$A'", "$A"],
    ['"$A b"', "x b"],
    ["\\$A", "$A"],
    ['"\\$A"', "$A"],
    ['"a\\nb"', "a\\nb"],
    ["a\\ b", "a b"],
    ["$", "$"],
    ["$1", "$1"],
    ["${SP}", "a b"],
  ];
  for (const [input, want] of cases) test(input, () => expect(expandWord(input, vars)).toBe(want));
  test("the escape directive's character", () => expect(expandWord("`$A", vars, "`")).toBe("$A"));
  test("${VAR:?} of an unset variable is an error", () =>
    expect(() => expandWord("${NOPE:?must be set}", vars)).toThrow("NOPE: must be set"));
  test("an unterminated quote is an error", () =>
    expect(() => expandWord('"abc', vars)).toThrow("unterminated"));
});

describe("words", () => {
  test("split on unquoted spaces only", () =>
    expect(splitWords(`a "b c" 'd e' f\\ g`)).toEqual(["a", '"b c"', "'d e'", "f\\ g"]));
  test("expandWords keeps a variable with spaces as one word", () =>
    expect(expandWords("$A ${SP} 'z'", vars)).toEqual(["x", "a b", "z"]));
});

describe("keyValues (ENV, LABEL)", () => {
  test("KEY=VALUE pairs with quotes", () =>
    expect(keyValues('A=1 B="two words" C=$A', vars)).toEqual([
      ["A", "1"],
      ["B", "two words"],
      ["C", "x"],
    ]));
  test("the old KEY VALUE form takes the rest of the line", () =>
    expect(keyValues("K some value $A", vars)).toEqual([["K", "some value x"]]));
  test("a quoted key", () => expect(keyValues('"my key"=v', vars)).toEqual([["my key", "v"]]));
  test("a lone name is an error", () => expect(() => keyValues("K", vars)).toThrow("needs a value"));
});
