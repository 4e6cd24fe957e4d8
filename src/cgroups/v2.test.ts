import { afterEach, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { runDeviceFilter } from "./controllers/devices-bpf.ts";
import { type FakeHost, fakeHost } from "./fake.ts";
import { openCgroup } from "./manager.ts";
import { NO_RESOURCES, type Resources, readResources } from "./resources.ts";

let host: FakeHost | undefined;
afterEach(() => host?.cleanup());

function setup() {
  host = fakeHost("v2");
  const attached: { dir: string; program: Uint8Array }[] = [];
  const cg = openCgroup("/leopard/c1", {
    layout: host.layout,
    attachDevices: (dir, program) => attached.push({ dir, program }),
  });
  cg.create();
  return { h: host, cg, attached };
}
const res = (other: Record<string, unknown>): Resources => readResources({ devices: [], other });

describe("cgroup v2 backend (fake tree)", () => {
  test("create enables every controller for the children of each level", () => {
    const { h, cg } = setup();
    expect(h.read("cgroup.subtree_control")).toBe("+cpuset +cpu +io +memory +hugetlb +pids +rdma +misc");
    expect(h.read("leopard/cgroup.subtree_control")).toBe(
      "+cpuset +cpu +io +memory +hugetlb +pids +rdma +misc",
    );
    expect(existsSync(`${h.root}/leopard/c1/cgroup.procs`)).toBe(true);
    expect(cg.dirs()).toEqual([`${h.root}/leopard/c1`]);
  });

  test("resources are converted to v2 files and units", () => {
    const { h, cg } = setup();
    cg.set(
      res({
        memory: { limit: 1048576, reservation: 524288, swap: 3145728 },
        cpu: { shares: 1024, quota: 50000, period: 100000, burst: 1000, cpus: "0", mems: "0" },
        pids: { limit: 32 },
        blockIO: {
          weight: 1000,
          weightDevice: [{ major: 8, minor: 0, weight: 10 }],
          throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }],
          throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 50 }],
        },
        hugepageLimits: [{ pageSize: "2MB", limit: 4194304 }],
        rdma: { mlx5_0: { hcaHandles: 3, hcaObjects: 100 } },
        unified: { "memory.high": "900000" },
      }),
    );
    const f = (p: string) => h.read(`leopard/c1/${p}`);
    expect(f("memory.max")).toBe("1048576");
    expect(f("memory.low")).toBe("524288");
    expect(f("memory.swap.max")).toBe("2097152"); // memory+swap minus memory
    expect(f("cpu.weight")).toBe("100");
    expect(f("cpu.max")).toBe("50000 100000");
    expect(f("cpu.max.burst")).toBe("1000");
    expect(f("cpuset.cpus")).toBe("0");
    expect(f("pids.max")).toBe("32");
    expect(f("io.weight")).toBe("8:0 1"); // the last write; "default 10000" came first
    expect(f("io.max")).toBe("8:0 rbps=1000 wiops=50");
    expect(f("hugetlb.2MB.max")).toBe("4194304");
    expect(f("rdma.max")).toBe("mlx5_0 hca_handle=3 hca_object=100");
    expect(f("memory.high")).toBe("900000");
  });

  test("unlimited memory and quota are written as max", () => {
    const { h, cg } = setup();
    cg.set(res({ memory: { limit: -1, swap: -1 }, cpu: { quota: -1 } }));
    expect(h.read("leopard/c1/memory.max")).toBe("max");
    expect(h.read("leopard/c1/memory.swap.max")).toBe("max");
    expect(h.read("leopard/c1/cpu.max")).toBe("max");
  });

  test.each([
    [{ memory: { swappiness: 10 } }, "linux.resources.memory.swappiness is not supported on cgroup v2"],
    [{ memory: { disableOOMKiller: true } }, "disableOOMKiller is not supported on cgroup v2"],
    [{ cpu: { realtimeRuntime: 1000 } }, "realtimeRuntime and realtimePeriod are not supported on cgroup v2"],
    [
      { network: { classID: 1 } },
      "linux.resources.network (classID, priorities) is not supported on cgroup v2",
    ],
    [{ blockIO: { leafWeight: 100 } }, "leafWeight is not supported on cgroup v2"],
    [
      { unified: { "bogus.file": "1" } },
      'linux.resources.unified["bogus.file"] is not a file of this host\'s cgroup v2',
    ],
  ])("%j is refused with a clear error", (other, message) => {
    const { cg } = setup();
    expect(() => cg.set(res(other))).toThrow(message);
  });

  test("a controller the host does not offer is named", () => {
    host = fakeHost("v2");
    host.write("cgroup.controllers", "cpu memory");
    const cg = openCgroup("/leopard/c1", { layout: host.layout });
    cg.create();
    expect(() => cg.set(res({ pids: { limit: 5 } }))).toThrow(
      /linux.resources.pids needs the cgroup v2 "pids" controller, which ".*\/leopard\/c1" does not have/,
    );
  });

  test("device rules become an eBPF program attached to the cgroup", () => {
    const { h, cg, attached } = setup();
    cg.set({
      ...NO_RESOURCES,
      devices: [
        { allow: false, type: "a", major: undefined, minor: undefined, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: 3, access: "rw" },
      ],
    });
    expect(attached.length).toBe(1);
    expect(attached[0]?.dir).toBe(`${h.root}/leopard/c1`);
    const bytes = attached[0]?.program ?? new Uint8Array();
    expect(bytes.length % 8).toBe(0);
  });

  test("freeze writes cgroup.freeze and waits for cgroup.events to say frozen", () => {
    const { h, cg } = setup();
    h.write("leopard/c1/cgroup.events", "populated 1\nfrozen 1");
    cg.freeze();
    expect(h.read("leopard/c1/cgroup.freeze")).toBe("1");
    expect(cg.freezerState()).toBe("frozen");
    h.write("leopard/c1/cgroup.events", "populated 1\nfrozen 0");
    cg.thaw();
    expect(cg.freezerState()).toBe("thawed");
  });

  test("stats read cpu.stat, memory, pids and io.stat in runc's shape", () => {
    const { h, cg } = setup();
    const w = (p: string, c: string) => h.write(`leopard/c1/${p}`, c);
    w(
      "cpu.stat",
      "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\nthrottled_usec 7",
    );
    w("memory.current", "4096");
    w("memory.max", "max");
    w("memory.swap.current", "100");
    w("memory.stat", "anon 3000\nfile 1096");
    w("memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1");
    w("pids.current", "2");
    w("io.stat", "8:0 rbytes=512 wbytes=1024 rios=1 wios=2 dbytes=0 dios=0");
    const s = cg.stats();
    expect(s.cpu.usage.total).toBe(1_500_000);
    expect(s.cpu.usage.kernel).toBe(500_000);
    expect(s.cpu.throttling).toEqual({ periods: 4, throttled_periods: 1, throttled_time: 7000 });
    expect(s.memory.usage).toEqual({ usage: 4096, limit: 2 ** 64 - 1, max: 0, failcnt: 3 });
    expect(s.memory.swap.usage).toBe(4196);
    expect(s.memory.cache).toBe(1096);
    expect(s.pids).toEqual({ current: 2, limit: 0 });
    expect(s.blkio.ioServiceBytesRecursive).toEqual([
      { major: 8, minor: 0, op: "Read", value: 512 },
      { major: 8, minor: 0, op: "Write", value: 1024 },
    ]);
    expect(s.blkio.ioServicedRecursive.length).toBe(2);
    expect(cg.oomKills()).toBe(1);
  });

  test("destroy removes the cgroup and keeps its parent", () => {
    const { h, cg } = setup();
    cg.destroy();
    expect(existsSync(`${h.root}/leopard/c1`)).toBe(false);
    expect(existsSync(`${h.root}/leopard`)).toBe(true);
  });
});

describe("device program semantics through the manager", () => {
  test("the attached program allows what the rules allow", () => {
    const { cg, attached } = setup();
    cg.set({
      ...NO_RESOURCES,
      devices: [
        { allow: false, type: "a", major: undefined, minor: undefined, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: 3, access: "rw" },
      ],
    });
    const bytes = attached[0]?.program ?? new Uint8Array();
    const v = new DataView(bytes.buffer);
    const insns = Array.from({ length: bytes.length / 8 }, (_, i) => ({
      code: v.getUint8(i * 8),
      dst: v.getUint8(i * 8 + 1) & 0xf,
      src: v.getUint8(i * 8 + 1) >> 4,
      off: v.getInt16(i * 8 + 2, true),
      imm: v.getInt32(i * 8 + 4, true),
    }));
    expect(runDeviceFilter(insns, "c", "rw", 1, 3)).toBe(true);
    expect(runDeviceFilter(insns, "c", "m", 1, 3)).toBe(false);
    expect(runDeviceFilter(insns, "b", "r", 8, 0)).toBe(false);
  });
});
