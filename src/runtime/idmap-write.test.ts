import { describe, expect, test } from "bun:test";
import { mapMethod, toolArgs } from "./idmap-write.ts";

describe("who writes a user namespace's maps", () => {
  test.each([
    ["root writes any map itself", "0 100000 65536\n", 0, 0, "direct"],
    ["a user writes the map of its own single id", "0 1001 1\n", 1001, 1001, "direct"],
    ["a user's own id under another container id, still direct", "1000 1001 1\n", 1001, 1001, "direct"],
    ["another single id needs newuidmap", "0 1002 1\n", 1001, 1001, "tool"],
    ["a range of its own id needs newuidmap", "0 1001 2\n", 1001, 1001, "tool"],
    ["its own id plus subordinate ids need newuidmap", "0 1001 1\n1 100000 65536\n", 1001, 1001, "tool"],
  ] as const)("%s", (_, text, euid, own, want) => {
    expect(mapMethod(text, euid, own)).toBe(want);
  });

  test("newuidmap gets the pid then each line's three numbers", () => {
    expect(toolArgs(42, "0 1001 1\n1 100000 65536\n")).toEqual([
      "42",
      "0",
      "1001",
      "1",
      "1",
      "100000",
      "65536",
    ]);
  });
});
