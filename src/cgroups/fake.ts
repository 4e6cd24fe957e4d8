// A fake cgroup filesystem for unit tests: a temporary directory tree whose hierarchy roots
// hold the control files a kernel would show, with its default values. New cgroups made in it
// get their parent's files (./files.ts), so tests read back exactly what the managers wrote.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "../util/path.ts";
import type { CgroupLayout, CgroupMode } from "./layout.ts";

const MAX = "9223372036854771712";

const COMMON_V1: Record<string, string> = { "cgroup.procs": "", tasks: "", notify_on_release: "0" };

const V1_FILES: Record<string, Record<string, string>> = {
  memory: {
    "memory.limit_in_bytes": MAX,
    "memory.soft_limit_in_bytes": MAX,
    "memory.memsw.limit_in_bytes": MAX,
    "memory.kmem.tcp.limit_in_bytes": MAX,
    "memory.usage_in_bytes": "0",
    "memory.max_usage_in_bytes": "0",
    "memory.failcnt": "0",
    "memory.memsw.usage_in_bytes": "0",
    "memory.swappiness": "60",
    "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0",
    "memory.use_hierarchy": "1",
    "memory.stat": "cache 0\nrss 0",
  },
  cpu: {
    "cpu.shares": "1024",
    "cpu.cfs_period_us": "100000",
    "cpu.cfs_quota_us": "-1",
    "cpu.cfs_burst_us": "0",
    "cpu.rt_period_us": "1000000",
    "cpu.rt_runtime_us": "0",
    "cpu.idle": "0",
    "cpu.stat": "nr_periods 0\nnr_throttled 0\nthrottled_time 0",
  },
  cpuacct: {
    "cpuacct.usage": "0",
    "cpuacct.usage_percpu": "0 0",
    "cpuacct.stat": "user 0\nsystem 0",
  },
  cpuset: { "cpuset.cpus": "0-1", "cpuset.mems": "0" },
  pids: { "pids.max": "max", "pids.current": "0" },
  blkio: {
    "blkio.weight": "500",
    "blkio.weight_device": "",
    "blkio.leaf_weight": "500",
    "blkio.leaf_weight_device": "",
    "blkio.throttle.read_bps_device": "",
    "blkio.throttle.write_bps_device": "",
    "blkio.throttle.read_iops_device": "",
    "blkio.throttle.write_iops_device": "",
    "blkio.throttle.io_service_bytes_recursive": "",
    "blkio.throttle.io_serviced_recursive": "",
  },
  devices: { "devices.allow": "", "devices.deny": "", "devices.list": "a *:* rwm" },
  freezer: { "freezer.state": "THAWED" },
  net_cls: { "net_cls.classid": "0" },
  net_prio: { "net_prio.ifpriomap": "lo 0" },
  hugetlb: {
    "hugetlb.2MB.limit_in_bytes": MAX,
    "hugetlb.2MB.usage_in_bytes": "0",
    "hugetlb.2MB.max_usage_in_bytes": "0",
    "hugetlb.2MB.failcnt": "0",
  },
};

const V2_CONTROLLERS = ["cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"];

const V2_FILES: Record<string, string> = {
  "cgroup.procs": "",
  "cgroup.subtree_control": "",
  "cgroup.freeze": "0",
  "cgroup.events": "populated 0\nfrozen 0",
  "cgroup.kill": "",
  "memory.max": "max",
  "memory.low": "0",
  "memory.swap.max": "max",
  "memory.current": "0",
  "memory.swap.current": "0",
  "memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0",
  "memory.stat": "anon 0\nfile 0",
  "memory.high": "max",
  "cpu.weight": "100",
  "cpu.max": "max 100000",
  "cpu.max.burst": "0",
  "cpu.idle": "0",
  "cpu.stat": "usage_usec 0\nuser_usec 0\nsystem_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0",
  "cpuset.cpus": "",
  "cpuset.mems": "",
  "pids.max": "max",
  "pids.current": "0",
  "io.weight": "default 100",
  "io.max": "",
  "io.stat": "",
  "hugetlb.2MB.max": "max",
  "hugetlb.2MB.current": "0",
  "hugetlb.2MB.events": "max 0",
  "rdma.max": "",
};

export interface FakeHost {
  readonly root: string;
  readonly layout: CgroupLayout;
  read(path: string): string;
  write(path: string, content: string): void;
  cleanup(): void;
}

/**
 * A fake host. "v1": every v1 controller; "hybrid": v1 without hugetlb plus a cgroup2 mount at
 * unified/ offering only hugetlb (this project's VM); "v2": one cgroup2 tree.
 */
export function fakeHost(mode: CgroupMode, opts: { v1Controllers?: readonly string[] } = {}): FakeHost {
  const root = mkdtempSync(join(tmpdir(), "leopard-cgfake-"));
  const v1 = new Map<string, string>();
  let unified: string | undefined;
  let unifiedControllers: string[] = [];
  const put = (dir: string, files: Record<string, string>): void => {
    mkdirSync(dir, { recursive: true });
    for (const [f, c] of Object.entries(files)) writeFileSync(join(dir, f), c);
  };
  if (mode !== "v2") {
    const all = Object.keys(V1_FILES).filter((c) => mode === "v1" || c !== "hugetlb");
    for (const c of opts.v1Controllers ?? all) {
      put(join(root, c), { ...COMMON_V1, ...V1_FILES[c] });
      v1.set(c, join(root, c));
    }
  }
  if (mode !== "v1") {
    unified = mode === "v2" ? root : join(root, "unified");
    unifiedControllers = mode === "v2" ? V2_CONTROLLERS : ["hugetlb"];
    const files =
      mode === "v2"
        ? V2_FILES
        : Object.fromEntries(
            Object.entries(V2_FILES).filter(([k]) => k.startsWith("cgroup.") || k.startsWith("hugetlb.")),
          );
    put(unified, { ...files, "cgroup.controllers": unifiedControllers.join(" ") });
  }
  return {
    root,
    layout: { mode, v1, unified, unifiedControllers, fake: true },
    read: (p) => readFileSync(join(root, p), "utf8"),
    write: (p, c) => writeFileSync(join(root, p), c),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}
