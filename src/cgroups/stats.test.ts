import { describe, expect, test } from "bun:test";
import { emptyStats, eventLine, statsJson } from "./stats.ts";

describe("stats in runc's events --stats shape", () => {
  test("zero values runc tags omitempty are left out, the rest kept", () => {
    const s = emptyStats();
    s.cpu.usage.total = 5;
    s.memory.usage = { usage: 10, limit: 100, max: 0, failcnt: 0 };
    s.pids = { current: 2, limit: 0 };
    const j = statsJson(s);
    expect(j["cpu"]).toEqual({ usage: { total: 5, kernel: 0, user: 0 }, throttling: {} });
    expect(j["memory"]).toEqual({
      usage: { usage: 10, limit: 100, failcnt: 0 },
      swap: { limit: 0, failcnt: 0 },
      kernel: { limit: 0, failcnt: 0 },
      kernelTCP: { limit: 0, failcnt: 0 },
    });
    expect(j["pids"]).toEqual({ current: 2 });
    expect(j["blkio"]).toEqual({});
    expect(j["hugetlb"]).toEqual({});
  });

  test("blkio entries and hugetlb sizes are listed", () => {
    const s = emptyStats();
    s.blkio.ioServiceBytesRecursive = [{ major: 8, minor: 0, op: "Read", value: 4096 }];
    s.hugetlb["2MB"] = { usage: 0, max: 0, failcnt: 0 };
    const j = statsJson(s);
    expect(j["blkio"]).toEqual({ ioServiceBytesRecursive: [{ major: 8, op: "Read", value: 4096 }] });
    expect(j["hugetlb"]).toEqual({ "2MB": { failcnt: 0 } });
  });

  test("events are one JSON line each", () => {
    expect(eventLine("oom", "c1")).toBe('{"type":"oom","id":"c1"}');
    const line = JSON.parse(eventLine("stats", "c1", emptyStats()));
    expect(line.type).toBe("stats");
    expect(Object.keys(line.data)).toEqual([
      "cpu",
      "memory",
      "pids",
      "blkio",
      "hugetlb",
      "intel_rdt",
      "network_interfaces",
    ]);
  });
});
