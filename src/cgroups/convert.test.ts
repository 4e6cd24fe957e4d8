import { describe, expect, test } from "bun:test";
import { blkioWeightToIoWeight, cpuMax, sharesToWeight, swapToV2, v2Limit } from "./convert.ts";

describe("v1 → v2 conversions", () => {
  test("cpu shares map to cpu.weight with the default 1024 landing on 100", () => {
    expect(sharesToWeight(0)).toBe(0);
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(100);
    expect(sharesToWeight(262144)).toBe(10000);
    expect(sharesToWeight(512)).toBeGreaterThan(1);
    expect(sharesToWeight(512)).toBeLessThan(100);
    expect(sharesToWeight(2048)).toBeGreaterThan(100);
  });

  test("blkio weight [10, 1000] scales linearly onto io.weight [1, 10000]", () => {
    expect(blkioWeightToIoWeight(0)).toBe(0);
    expect(blkioWeightToIoWeight(10)).toBe(1);
    expect(blkioWeightToIoWeight(1000)).toBe(10000);
    expect(blkioWeightToIoWeight(500)).toBe(1 + Math.floor((490 * 9999) / 990));
  });

  test("swap is memory+swap in OCI and swap alone in memory.swap.max", () => {
    expect(swapToV2(undefined, 100)).toBeUndefined();
    expect(swapToV2(-1, 100)).toBe("max");
    expect(swapToV2(300, 100)).toBe(200);
    expect(swapToV2(100, 100)).toBe(0);
    expect(() => swapToV2(50, 100)).toThrow("must not be less than memory.limit 100");
    expect(() => swapToV2(300, undefined)).toThrow("needs memory.limit on cgroup v2");
  });

  test("cpu.max is quota then period, with max for no quota", () => {
    expect(cpuMax(undefined, undefined)).toBeUndefined();
    expect(cpuMax(50000, 100000)).toBe("50000 100000");
    expect(cpuMax(-1, 100000)).toBe("max 100000");
    expect(cpuMax(20000, undefined)).toBe("20000");
    expect(cpuMax(undefined, 50000)).toBe("max 50000");
    expect(v2Limit(-1)).toBe("max");
    expect(v2Limit(42)).toBe("42");
  });
});
