import { describe, expect, test } from "bun:test";
import { readResources, readResourcesJson } from "./resources.ts";

const read = (other: Record<string, unknown>) => readResources({ devices: [], other });

describe("linux.resources", () => {
  test("every section is read into typed values", () => {
    const r = read({
      memory: { limit: 1048576, reservation: 524288, swap: 2097152, swappiness: 10, disableOOMKiller: true },
      cpu: { shares: 512, quota: 50000, period: 100000, cpus: "0-1", mems: "0", idle: 1 },
      pids: { limit: 32 },
      blockIO: {
        weight: 300,
        weightDevice: [{ major: 8, minor: 0, weight: 200 }],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }],
      },
      hugepageLimits: [{ pageSize: "2MB", limit: 4194304 }],
      network: { classID: 1048577, priorities: [{ name: "eth0", priority: 5 }] },
      rdma: { mlx5_0: { hcaHandles: 3, hcaObjects: 100 } },
      unified: { "memory.high": "1G" },
    });
    expect(r.memory?.limit).toBe(1048576);
    expect(r.memory?.swap).toBe(2097152);
    expect(r.memory?.kernel).toBeUndefined();
    expect(r.cpu?.cpus).toBe("0-1");
    expect(r.pids?.limit).toBe(32);
    expect(r.blockIO?.weightDevice[0]).toEqual({ major: 8, minor: 0, weight: 200, leafWeight: undefined });
    expect(r.blockIO?.throttleWriteBpsDevice).toEqual([]);
    expect(r.hugepageLimits).toEqual([{ pageSize: "2MB", limit: 4194304 }]);
    expect(r.network?.priorities).toEqual([{ name: "eth0", priority: 5 }]);
    expect(r.rdma["mlx5_0"]).toEqual({ hcaHandles: 3, hcaObjects: 100 });
    expect(r.unified).toEqual({ "memory.high": "1G" });
  });

  test("a blockIO weight of 0 means unset, as Docker sends it and runc reads it", () => {
    const r = read({
      blockIO: { weight: 0, leafWeight: 0, weightDevice: [{ major: 8, minor: 0, weight: 0 }] },
    });
    expect(r.blockIO?.weight).toBeUndefined();
    expect(r.blockIO?.leafWeight).toBeUndefined();
    expect(r.blockIO?.weightDevice[0]).toEqual({
      major: 8,
      minor: 0,
      weight: undefined,
      leafWeight: undefined,
    });
  });

  test("update's JSON with blockIO.weight 0 (containerd's shim sends it) reads as unset", () => {
    const r = readResourcesJson(JSON.parse('{"memory":{"limit":67108864},"blockIO":{"weight":0}}'));
    expect(r.memory?.limit).toBe(67108864);
    expect(r.blockIO?.weight).toBeUndefined();
  });

  test("Go's MaxInt64 and negative limits read as unlimited", () => {
    const r = read(JSON.parse(`{"memory":{"limit":9223372036854775807,"swap":-1},"pids":{"limit":-1}}`));
    expect(r.memory?.limit).toBe(-1);
    expect(r.memory?.swap).toBe(-1);
    expect(r.pids?.limit).toBe(-1);
  });

  test.each([
    [{ memory: { limit: "1G" } }, "linux.resources.memory.limit must be an integer"],
    [{ memory: { swappiness: 101 } }, "linux.resources.memory.swappiness 101 is out of range (0 to 100)"],
    [
      { memory: { limit: 200, swap: 100 } },
      "linux.resources.memory.swap 100 must not be less than memory.limit 200",
    ],
    [{ cpu: { cpus: "0-a" } }, 'linux.resources.cpu.cpus "0-a" is not a list like "0-3,5"'],
    [{ cpu: { idle: 2 } }, "linux.resources.cpu.idle 2 is out of range (0 to 1)"],
    [{ pids: {} }, "linux.resources.pids.limit must be set"],
    [{ blockIO: { weight: 5 } }, "linux.resources.blockIO.weight 5 is out of range (10 to 1000)"],
    [
      { blockIO: { throttleReadBpsDevice: [{ major: 8, rate: 1 }] } },
      "linux.resources.blockIO.throttleReadBpsDevice[0].minor must be set",
    ],
    [
      { hugepageLimits: [{ pageSize: "2M", limit: 1 }] },
      'linux.resources.hugepageLimits[0].pageSize "2M" is not a size',
    ],
    [
      { unified: { "../memory.max": "1" } },
      'linux.resources.unified["../memory.max"] is not a cgroup file name',
    ],
    [{ unified: { "cgroup.procs/x": "1" } }, "is not a cgroup file name"],
    [{ rdma: { "a/b": {} } }, 'linux.resources.rdma["a/b"] is not a valid rdma device name'],
    [{ bogus: 1 }, "linux.resources.bogus is not a resource leopard knows"],
  ])("%j is refused naming the field", (other, message) => {
    expect(() => read(other)).toThrow(message);
  });

  test("an update file is a whole LinuxResources object, devices included", () => {
    const r = readResourcesJson({ devices: [{ allow: false, access: "rwm" }], memory: { limit: 4096 } });
    expect(r.devices).toEqual([
      { allow: false, type: "a", major: undefined, minor: undefined, access: "rwm" },
    ]);
    expect(r.memory?.limit).toBe(4096);
    expect(() => readResourcesJson({ devices: [{ allow: true, access: "x" }] })).toThrow(
      /^resources\.devices\[0\]\.access "x" must combine "r", "w" and "m"$/,
    );
  });

  test("no resources is the empty set", () => {
    expect(readResources(undefined).hugepageLimits).toEqual([]);
  });
});
