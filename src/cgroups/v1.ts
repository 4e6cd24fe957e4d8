// The cgroup v1 backend, and hybrid hosts: a directory in every mounted v1 hierarchy, and on
// hybrid hosts one in the cgroup2 mount as well, which takes what no v1 hierarchy has (this
// project's VM: hugetlb) and linux.resources.unified.
import { existsSync } from "../sys/fs-sync.ts";
import type { CgroupManager } from "./cgroup-manager.ts";
import { anySet, killAll, pidsBelow } from "./common.ts";
import { blkioStatsV1, setBlkioV1 } from "./controllers/blkio.ts";
import { cpuStatsV1, setCpuV1 } from "./controllers/cpu.ts";
import { inheritCpusetV1, setCpuset } from "./controllers/cpuset.ts";
import { setDevicesV1 } from "./controllers/devices.ts";
import { type FreezerState, freezerStateV1, freezeV1 } from "./controllers/freezer.ts";
import { hugetlbStatsV1, hugetlbStatsV2, setHugetlbV1, setHugetlbV2 } from "./controllers/hugetlb.ts";
import { memoryStatsV1, oomKillsV1, setMemoryV1 } from "./controllers/memory.ts";
import { setNetClsV1, setNetPrioV1 } from "./controllers/net.ts";
import { pidsStats, setPids } from "./controllers/pids.ts";
import { setRdma } from "./controllers/rdma.ts";
import { rejectUnified, setUnified } from "./controllers/unified.ts";
import { mkdirCg, readCgOpt, rmdirCg, unsupported, writeCg } from "./files.ts";
import type { CgroupLayout } from "./layout.ts";
import type { CgroupPaths } from "./path.ts";
import type { Resources } from "./resources.ts";
import { emptyStats, type Stats } from "./stats.ts";
import { type AttachDevices, enableControllers } from "./v2.ts";

interface Hierarchy {
  readonly mount: string;
  readonly path: string;
  readonly dir: string;
}

export class V1Manager implements CgroupManager {
  readonly mode: "v1" | "hybrid";
  /** Controller → directory (co-mounted controllers share one). */
  private readonly byController = new Map<string, Hierarchy>();
  /** Each hierarchy once. */
  private readonly hierarchies: Hierarchy[] = [];
  private readonly unified: Hierarchy | undefined;

  constructor(
    private readonly layout: CgroupLayout,
    readonly paths: CgroupPaths,
    _attach?: AttachDevices,
  ) {
    this.mode = layout.mode === "hybrid" ? "hybrid" : "v1";
    const seen = new Map<string, Hierarchy>();
    for (const [ctl, mount] of layout.v1) {
      const path = paths[ctl];
      if (path === undefined) continue;
      const key = `${mount}\0${path}`;
      let h = seen.get(key);
      if (h === undefined) {
        h = { mount, path, dir: `${mount}${path}` };
        seen.set(key, h);
        this.hierarchies.push(h);
      }
      this.byController.set(ctl, h);
    }
    const up = paths[""];
    this.unified =
      layout.unified !== undefined && up !== undefined
        ? { mount: layout.unified, path: up, dir: `${layout.unified}${up}` }
        : undefined;
  }

  /** The directory of a controller, or undefined when the host has no such v1 hierarchy. */
  dir(controller: string): string | undefined {
    return this.byController.get(controller)?.dir;
  }

  private need(controller: string, field: string): string {
    const d = this.dir(controller);
    if (d === undefined) {
      throw unsupported(
        `${field} needs the cgroup ${JSON.stringify(controller)} controller, which this host does not mount`,
      );
    }
    return d;
  }

  dirs(): string[] {
    const out = this.hierarchies.map((h) => h.dir);
    if (this.unified !== undefined) out.push(this.unified.dir);
    return out;
  }

  exists(): boolean {
    const main = this.byController.get("memory") ?? this.byController.get("pids") ?? this.hierarchies[0];
    return main !== undefined && existsSync(main.dir);
  }

  create(): void {
    const cpuset = this.byController.get("cpuset");
    for (const h of this.hierarchies) {
      mkdirCg(h.mount, h.path, this.layout.fake, h === cpuset ? { after: inheritCpusetV1 } : {});
    }
    if (this.unified !== undefined) mkdirCg(this.unified.mount, this.unified.path, this.layout.fake);
  }

  apply(pid: number): void {
    for (const d of this.dirs()) writeCg(d, "cgroup.procs", String(pid));
  }

  joinFiles(): { tasks: string[]; unified?: string | undefined } {
    return { tasks: this.hierarchies.map((h) => `${h.dir}/tasks`), unified: this.unified?.dir };
  }

  /** hugetlb lives in v1 where mounted, else (hybrid) in the cgroup2 mount. */
  private hugetlb(limits: Resources["hugepageLimits"]): void {
    const v1 = this.dir("hugetlb");
    if (v1 !== undefined) {
      setHugetlbV1(v1, limits);
      return;
    }
    const u = this.unified;
    if (u === undefined || !this.layout.unifiedControllers.includes("hugetlb")) {
      throw unsupported(
        'linux.resources.hugepageLimits needs the cgroup "hugetlb" controller, which this host does not have',
      );
    }
    enableControllers(u.mount, u.path, ["hugetlb"], this.layout.fake);
    setHugetlbV2(u.dir, limits);
  }

  set(r: Resources): void {
    if (anySet(r.memory) && r.memory !== undefined)
      setMemoryV1(this.need("memory", "linux.resources.memory"), r.memory);
    if (r.cpu !== undefined) {
      const { cpus, mems, ...rest } = r.cpu;
      if (anySet(rest)) setCpuV1(this.need("cpu", "linux.resources.cpu"), r.cpu);
      if ((cpus ?? "") !== "" || (mems ?? "") !== "") {
        setCpuset(this.need("cpuset", "linux.resources.cpu.cpus/mems"), r.cpu);
      }
    }
    if (r.pids !== undefined) setPids(this.need("pids", "linux.resources.pids"), r.pids);
    if (anySet(r.blockIO) && r.blockIO !== undefined)
      setBlkioV1(this.need("blkio", "linux.resources.blockIO"), r.blockIO);
    if (r.hugepageLimits.length > 0) this.hugetlb(r.hugepageLimits);
    if (r.network !== undefined) {
      if (r.network.classID !== undefined)
        setNetClsV1(this.need("net_cls", "linux.resources.network.classID"), r.network);
      if (r.network.priorities.length > 0) {
        setNetPrioV1(this.need("net_prio", "linux.resources.network.priorities"), r.network);
      }
    }
    if (Object.keys(r.rdma).length > 0) setRdma(this.need("rdma", "linux.resources.rdma"), r.rdma);
    if (r.devices.length > 0) setDevicesV1(this.need("devices", "linux.resources.devices"), r.devices);
    if (this.unified !== undefined) setUnified(this.unified.dir, r.unified);
    else rejectUnified(r.unified);
  }

  freeze(): void {
    freezeV1(this.need("freezer", "pause"), "frozen");
  }

  thaw(): void {
    freezeV1(this.need("freezer", "resume"), "thawed");
  }

  freezerState(): FreezerState {
    const d = this.dir("freezer");
    return d === undefined ? "thawed" : freezerStateV1(d);
  }

  stats(): Stats {
    const s = emptyStats();
    const mem = this.dir("memory");
    if (mem !== undefined) memoryStatsV1(mem, s);
    cpuStatsV1(this.dir("cpuacct"), this.dir("cpu"), s);
    const pids = this.dir("pids");
    if (pids !== undefined) pidsStats(pids, s);
    const blkio = this.dir("blkio");
    if (blkio !== undefined) blkioStatsV1(blkio, s);
    const hugetlb = this.dir("hugetlb");
    if (hugetlb !== undefined) hugetlbStatsV1(hugetlb, s);
    else if (this.unified !== undefined && existsSync(this.unified.dir)) hugetlbStatsV2(this.unified.dir, s);
    return s;
  }

  pids(): number[] {
    const h = this.byController.get("pids") ?? this.byController.get("memory") ?? this.hierarchies[0];
    return h === undefined ? [] : pidsBelow(h.dir);
  }

  oomKills(): number {
    const d = this.dir("memory");
    return d === undefined || readCgOpt(d, "memory.oom_control") === undefined ? 0 : oomKillsV1(d);
  }

  destroy(): void {
    const freezer = this.dir("freezer");
    if (!this.layout.fake) {
      try {
        const frozen = freezer !== undefined && existsSync(freezer);
        // Frozen first, so nothing forks while the list is read; SIGKILL lands on the thaw.
        if (frozen && this.freezerState() === "thawed") freezeV1(freezer, "frozen");
        for (const d of this.dirs()) {
          if (!existsSync(d)) continue;
          killAll(d, () => {
            if (frozen) freezeV1(freezer, "thawed");
          });
        }
      } catch (e) {
        // Removed under us by another command (the engine's exit command and `rm -f` race): done.
        if (this.dirs().some((d) => existsSync(d))) throw e;
        return;
      }
    }
    for (const d of this.dirs()) rmdirCg(d, this.layout.fake);
  }
}
