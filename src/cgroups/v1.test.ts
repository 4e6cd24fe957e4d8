import { afterEach, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { type FakeHost, fakeHost } from "./fake.ts";
import { openCgroup } from "./manager.ts";
import { NO_RESOURCES, type Resources, readResources } from "./resources.ts";

let host: FakeHost | undefined;
afterEach(() => host?.cleanup());

function setup(mode: "v1" | "hybrid" = "v1", v1Controllers?: string[]) {
  host = fakeHost(mode, v1Controllers === undefined ? {} : { v1Controllers });
  const cg = openCgroup("/leopard/c1", { layout: host.layout });
  cg.create();
  return { h: host, cg };
}
const res = (other: Record<string, unknown>): Resources => readResources({ devices: [], other });

describe("cgroup v1 backend (fake tree)", () => {
  test("create makes the cgroup in every hierarchy and copies cpuset cpus and mems down", () => {
    const { h, cg } = setup();
    for (const c of ["memory", "cpu", "cpuacct", "pids", "freezer", "devices"]) {
      expect(existsSync(`${h.root}/${c}/leopard/c1/cgroup.procs`)).toBe(true);
    }
    expect(h.read("cpuset/leopard/cpuset.cpus")).toBe("0-1");
    expect(h.read("cpuset/leopard/c1/cpuset.mems")).toBe("0");
    expect(cg.exists()).toBe(true);
  });

  test("apply writes the pid to cgroup.procs in each hierarchy", () => {
    const { h, cg } = setup();
    cg.apply(4242);
    expect(h.read("memory/leopard/c1/cgroup.procs")).toBe("4242");
    expect(h.read("freezer/leopard/c1/cgroup.procs")).toBe("4242");
  });

  test("memory, cpu, pids, blkio, hugetlb and network land in their v1 files", () => {
    const { h, cg } = setup();
    cg.set(
      res({
        memory: {
          limit: 1048576,
          reservation: 524288,
          swap: 2097152,
          swappiness: 10,
          disableOOMKiller: true,
        },
        cpu: { shares: 512, quota: 50000, period: 100000, burst: 1000, cpus: "1", mems: "0", idle: 1 },
        pids: { limit: 32 },
        blockIO: {
          weight: 300,
          weightDevice: [{ major: 8, minor: 0, weight: 200 }],
          throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }],
          throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 50 }],
        },
        hugepageLimits: [{ pageSize: "2MB", limit: 4194304 }],
        network: { classID: 1048577, priorities: [{ name: "eth0", priority: 5 }] },
      }),
    );
    const f = (p: string) => h.read(`${p.split(".")[0]}/leopard/c1/${p}`);
    expect(f("memory.limit_in_bytes")).toBe("1048576");
    expect(h.read("memory/leopard/c1/memory.memsw.limit_in_bytes")).toBe("2097152");
    expect(f("memory.soft_limit_in_bytes")).toBe("524288");
    expect(f("memory.swappiness")).toBe("10");
    expect(f("memory.oom_control")).toBe("1");
    expect(f("cpu.shares")).toBe("512");
    expect(f("cpu.cfs_quota_us")).toBe("50000");
    expect(f("cpu.cfs_period_us")).toBe("100000");
    expect(f("cpu.cfs_burst_us")).toBe("1000");
    expect(f("cpu.idle")).toBe("1");
    expect(f("cpuset.cpus")).toBe("1");
    expect(f("pids.max")).toBe("32");
    expect(f("blkio.weight")).toBe("300");
    expect(f("blkio.weight_device")).toBe("8:0 200");
    expect(h.read("blkio/leopard/c1/blkio.throttle.read_bps_device")).toBe("8:0 1000");
    expect(h.read("blkio/leopard/c1/blkio.throttle.write_iops_device")).toBe("8:16 50");
    expect(h.read("hugetlb/leopard/c1/hugetlb.2MB.limit_in_bytes")).toBe("4194304");
    expect(h.read("net_cls/leopard/c1/net_cls.classid")).toBe("1048577");
    expect(h.read("net_prio/leopard/c1/net_prio.ifpriomap")).toBe("eth0 5");
  });

  test("unlimited values are written as -1 and pids as max", () => {
    const { h, cg } = setup();
    cg.set(res({ memory: { limit: -1 }, pids: { limit: -1 } }));
    expect(h.read("memory/leopard/c1/memory.limit_in_bytes")).toBe("-1");
    expect(h.read("pids/leopard/c1/pids.max")).toBe("max");
  });

  test("device rules are written in order to devices.deny and devices.allow", () => {
    const { h, cg } = setup();
    cg.set({
      ...NO_RESOURCES,
      devices: [
        { allow: false, type: "a", major: undefined, minor: undefined, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
      ],
    });
    expect(h.read("devices/leopard/c1/devices.deny")).toBe("a *:* rwm");
    expect(h.read("devices/leopard/c1/devices.allow")).toBe("c 1:3 rwm");
  });

  test("checkBeforeUpdate refuses a limit below the current usage", () => {
    const { h, cg } = setup();
    h.write("memory/leopard/c1/memory.usage_in_bytes", "5000");
    expect(() => cg.set(res({ memory: { limit: 4096, checkBeforeUpdate: true } }))).toThrow(
      "linux.resources.memory.limit 4096 is below the current usage 5000",
    );
  });

  test("a controller the host does not mount is an error naming the resource", () => {
    const { cg } = setup("v1", ["memory", "cpu", "cpuacct", "freezer"]);
    expect(() => cg.set(res({ pids: { limit: 5 } }))).toThrow(
      'linux.resources.pids needs the cgroup "pids" controller, which this host does not mount',
    );
    expect(() => cg.set(res({ network: { classID: 1 } }))).toThrow('"net_cls" controller');
  });

  test("a missing control file says which one the host lacks", () => {
    const { h, cg } = setup();
    const { rmSync } = require("node:fs") as typeof import("node:fs");
    rmSync(`${h.root}/memory/leopard/c1/memory.memsw.limit_in_bytes`);
    expect(() => cg.set(res({ memory: { limit: 100, swap: 200 } }))).toThrow("swap accounting");
    rmSync(`${h.root}/cpu/leopard/c1/cpu.cfs_burst_us`);
    expect(() => cg.set(res({ cpu: { burst: 5 } }))).toThrow(
      'the host\'s cgroups have no "cpu.cfs_burst_us" file',
    );
  });

  test("unified values need cgroup v2", () => {
    const { cg } = setup();
    expect(() => cg.set(res({ unified: { "memory.high": "1" } }))).toThrow("needs cgroup v2");
  });

  test("freeze and thaw write freezer.state", () => {
    const { h, cg } = setup();
    cg.freeze();
    expect(h.read("freezer/leopard/c1/freezer.state")).toBe("FROZEN");
    expect(cg.freezerState()).toBe("frozen");
    cg.thaw();
    expect(cg.freezerState()).toBe("thawed");
  });

  test("stats read usage, limits, cpu time, pids and io in runc's shape", () => {
    const { h, cg } = setup();
    const w = (p: string, c: string) => h.write(`${p.split(".")[0]}/leopard/c1/${p}`, c);
    w("memory.usage_in_bytes", "1000");
    w("memory.limit_in_bytes", "9223372036854771712");
    w("memory.stat", "cache 300\nrss 700\ntotal_cache 400");
    h.write("cpuacct/leopard/c1/cpuacct.usage", "123456");
    h.write("cpuacct/leopard/c1/cpuacct.usage_percpu", "100000 23456");
    h.write("cpuacct/leopard/c1/cpuacct.stat", "user 2\nsystem 1");
    w("pids.current", "3");
    w("pids.max", "32");
    h.write(
      "blkio/leopard/c1/blkio.throttle.io_service_bytes_recursive",
      "8:0 Read 4096\n8:0 Write 0\nTotal 4096",
    );
    const s = cg.stats();
    expect(s.memory.usage.usage).toBe(1000);
    expect(s.memory.usage.limit).toBe(2 ** 64 - 1);
    expect(s.memory.cache).toBe(400);
    expect(s.memory.raw["rss"]).toBe(700);
    expect(s.cpu.usage.total).toBe(123456);
    expect(s.cpu.usage.percpu).toEqual([100000, 23456]);
    expect(s.cpu.usage.user).toBe(20_000_000);
    expect(s.pids).toEqual({ current: 3, limit: 32 });
    expect(s.blkio.ioServiceBytesRecursive).toEqual([
      { major: 8, minor: 0, op: "Read", value: 4096 },
      { major: 8, minor: 0, op: "Write", value: 0 },
    ]);
    expect(s.hugetlb["2MB"]).toEqual({ usage: 0, max: 0, failcnt: 0 });
  });

  test("oomKills reads the kernel's oom_kill count", () => {
    const { h, cg } = setup();
    h.write("memory/leopard/c1/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2");
    expect(cg.oomKills()).toBe(2);
  });

  test("destroy removes the cgroup from every hierarchy but leaves the parent", () => {
    const { h, cg } = setup();
    cg.destroy();
    expect(existsSync(`${h.root}/memory/leopard/c1`)).toBe(false);
    expect(existsSync(`${h.root}/memory/leopard`)).toBe(true);
    expect(cg.exists()).toBe(false);
    cg.destroy(); // twice is fine
  });
});

describe("hybrid hosts (fake tree)", () => {
  test("the cgroup is made in the cgroup2 mount too and the pid joins it", () => {
    const { h, cg } = setup("hybrid");
    cg.apply(77);
    expect(h.read("unified/leopard/c1/cgroup.procs")).toBe("77");
    expect(cg.dirs()).toContain(`${h.root}/unified/leopard/c1`);
  });

  test("hugetlb, which only cgroup2 has, is enabled there and limited with hugetlb.<size>.max", () => {
    host = fakeHost("hybrid");
    const cg = openCgroup("/leopard/c2", { layout: host.layout });
    cg.create();
    cg.set(res({ hugepageLimits: [{ pageSize: "2MB", limit: 2097152 }] }));
    expect(host.read("unified/cgroup.subtree_control")).toBe("+hugetlb");
    expect(host.read("unified/leopard/cgroup.subtree_control")).toBe("+hugetlb");
    expect(host.read("unified/leopard/c2/hugetlb.2MB.max")).toBe("2097152");
  });

  test("a page size the host lacks is named", () => {
    const { cg } = setup("v1");
    expect(() => cg.set(res({ hugepageLimits: [{ pageSize: "1GB", limit: 1 }] }))).toThrow(
      'pageSize "1GB" is not a huge page size this host has',
    );
  });

  test("unified values go to the cgroup2 directory", () => {
    const { h, cg } = setup("hybrid");
    h.write("unified/leopard/c1/cgroup.max.depth", "max");
    cg.set(res({ unified: { "cgroup.max.depth": "3" } }));
    expect(h.read("unified/leopard/c1/cgroup.max.depth")).toBe("3");
  });
});
