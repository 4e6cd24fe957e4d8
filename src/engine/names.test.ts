// Container names: a made-up name another create took meanwhile is made up again; a chosen one is not.
import { expect, test } from "bun:test";
import { LeopardError } from "../util/errors.ts";
import { insertNamed, randomName } from "./names.ts";

const taken = (set: Set<string>) => (n: string) => {
  if (set.has(n)) throw new LeopardError("exists", `the container name "${n}" is already in use`);
  set.add(n);
};

test("a made-up name taken between the check and the insert is replaced, as docker does", () => {
  const names = new Set(["brave_lynx", "calm_puma"]);
  const queue = ["calm_puma", "keen_manul"];
  const got = insertNamed("brave_lynx", false, taken(names), () => queue.shift() ?? "x");
  expect(got).toBe("keen_manul");
  expect(names.has("keen_manul")).toBe(true);
});

test("a chosen name that is taken is an error, and other errors pass through", () => {
  const names = new Set(["web"]);
  expect(() => insertNamed("web", true, taken(names), () => "other")).toThrow('"web" is already in use');
  expect(() =>
    insertNamed(
      "a",
      false,
      () => {
        throw new LeopardError("system", "disk full");
      },
      () => "b",
    ),
  ).toThrow("disk full");
});

test("randomName avoids the names it is told are taken", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 50; i++) seen.add(randomName((n) => seen.has(n)));
  expect(seen.size).toBe(50);
});
