import { describe, expect, test } from "bun:test";
import { parseBytes, resourcesFromFlags } from "./update.ts";

describe("update flags", () => {
  test("sizes take docker's binary units and -1 for unlimited", () => {
    expect(parseBytes("memory", "4096")).toBe(4096);
    expect(parseBytes("memory", "512m")).toBe(512 * 2 ** 20);
    expect(parseBytes("memory", "1G")).toBe(2 ** 30);
    expect(parseBytes("memory", "1.5gib")).toBe(1.5 * 2 ** 30);
    expect(parseBytes("memory", "2kb")).toBe(2048);
    expect(parseBytes("memory", "-1")).toBe(-1);
    expect(() => parseBytes("memory", "12x")).toThrow('--memory "12x" is not a size like "512m" or "1g"');
  });

  test("only the flags given are set", () => {
    const r = resourcesFromFlags({
      memory: "64m",
      "memory-swap": "-1",
      "pids-limit": "20",
      "cpu-quota": "-1",
    });
    expect(r.memory?.limit).toBe(64 * 2 ** 20);
    expect(r.memory?.swap).toBe(-1);
    expect(r.memory?.reservation).toBeUndefined();
    expect(r.pids).toEqual({ limit: 20 });
    expect(r.cpu?.quota).toBe(-1);
    expect(r.cpu?.shares).toBeUndefined();
    expect(r.blockIO).toBeUndefined();
    expect(resourcesFromFlags({}).memory).toBeUndefined();
  });

  test("cpuset, shares, blkio weight and idle", () => {
    const r = resourcesFromFlags({
      "cpuset-cpus": "0-1",
      "cpu-share": "512",
      "blkio-weight": "300",
      "cpu-idle": "1",
    });
    expect(r.cpu?.cpus).toBe("0-1");
    expect(r.cpu?.shares).toBe(512);
    expect(r.cpu?.idle).toBe(1);
    expect(r.blockIO?.weight).toBe(300);
  });

  test.each([
    [{ "pids-limit": "x" }, '--pids-limit "x" is not an integer of at least -1'],
    [{ "blkio-weight": "5" }, "--blkio-weight 5 is out of range (10 to 1000)"],
    [{ "cpu-idle": "2" }, "--cpu-idle must be 0 or 1"],
    [{ bogus: "1" }, "--bogus is not a resource flag of update"],
  ])("%j is refused", (flags, message) => {
    expect(() => resourcesFromFlags(flags)).toThrow(message);
  });
});
