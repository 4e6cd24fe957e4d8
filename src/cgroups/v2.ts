// The cgroup v2 backend: one directory in the unified hierarchy, controllers enabled in every
// parent's cgroup.subtree_control, devices through an eBPF program, freezing with cgroup.freeze.

import { existsSync } from "../sys/fs-sync.ts";
import { attachDeviceProgram } from "./bpf.ts";
import type { CgroupManager } from "./cgroup-manager.ts";
import { anySet, killAll, pidsBelow } from "./common.ts";
import { ioStatsV2, setIoV2 } from "./controllers/blkio.ts";
import { cpuStatsV2, setCpuV2 } from "./controllers/cpu.ts";
import { setCpuset } from "./controllers/cpuset.ts";
import { deviceFilterInsns, encodeInsns } from "./controllers/devices-bpf.ts";
import { type FreezerState, freezerStateV2, freezeV2 } from "./controllers/freezer.ts";
import { hugetlbStatsV2, setHugetlbV2 } from "./controllers/hugetlb.ts";
import { memoryStatsV2, oomKillsV2, setMemoryV2 } from "./controllers/memory.ts";
import { rejectNetworkV2 } from "./controllers/net.ts";
import { pidsStats, setPids } from "./controllers/pids.ts";
import { setRdma } from "./controllers/rdma.ts";
import { setUnified } from "./controllers/unified.ts";
import { hasFile, mkdirCg, readCgOpt, rmdirCg, unsupported, writeCg } from "./files.ts";
import type { CgroupLayout } from "./layout.ts";
import type { CgroupPaths } from "./path.ts";
import type { Resources } from "./resources.ts";
import { emptyStats, type Stats } from "./stats.ts";

export type AttachDevices = (dir: string, program: Uint8Array) => void;

/**
 * A cgroup's controllers (cgroup.controllers). In a fake tree they are computed as the kernel
 * does: what the parent's cgroup.subtree_control enables, the root's as written.
 */
function controllersOf(dir: string, fakeRoot?: string): string[] {
  const text =
    fakeRoot !== undefined && dir !== fakeRoot
      ? (readCgOpt(dir.slice(0, dir.lastIndexOf("/")), "cgroup.subtree_control") ?? "").replace(/\+/g, "")
      : (readCgOpt(dir, "cgroup.controllers") ?? "");
  return text.split(/\s+/).filter(Boolean);
}

/**
 * Enables controllers for the children of every directory from the mount down to the parent
 * of `path` (each level can only pass on what its own parent enabled). All in one write; if
 * the kernel refuses that, one write per controller, and one that cannot be enabled stays off
 * (set() names it when a resource needs it).
 */
export function enableControllers(
  mount: string,
  path: string,
  wanted: readonly string[] | "all",
  fake: boolean,
): void {
  let dir = mount;
  const parts = path.split("/").filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    const available = controllersOf(dir, fake ? mount : undefined);
    const enabled = (readCgOpt(dir, "cgroup.subtree_control") ?? "").replace(/\+/g, "").split(/\s+/);
    const missing = (wanted === "all" ? available : wanted.filter((w) => available.includes(w))).filter(
      (c) => !enabled.includes(c),
    );
    if (missing.length > 0) {
      try {
        writeCg(dir, "cgroup.subtree_control", missing.map((c) => `+${c}`).join(" "));
      } catch {
        for (const c of missing) {
          try {
            writeCg(dir, "cgroup.subtree_control", `+${c}`);
          } catch {
            // left off
          }
        }
      }
    }
    dir = `${dir}/${parts[i]}`;
  }
}

export class V2Manager implements CgroupManager {
  readonly mode = "v2" as const;
  readonly dir: string;
  private readonly mount: string;
  private readonly path: string;

  constructor(
    private readonly layout: CgroupLayout,
    readonly paths: CgroupPaths,
    private readonly attach: AttachDevices = attachDeviceProgram,
  ) {
    const mount = layout.unified;
    const path = paths[""];
    if (mount === undefined || path === undefined) throw unsupported("this host does not mount cgroup v2");
    this.mount = mount;
    this.path = path;
    this.dir = `${mount}${path}`;
  }

  dirs(): string[] {
    return [this.dir];
  }

  exists(): boolean {
    return existsSync(this.dir);
  }

  create(): void {
    // Every level first exists, then passes on every controller it has to its children.
    mkdirCg(this.mount, this.path, this.layout.fake);
    enableControllers(this.mount, this.path, "all", this.layout.fake);
  }

  apply(pid: number): void {
    writeCg(this.dir, "cgroup.procs", String(pid));
  }

  joinFiles(): { tasks: string[]; unified?: string | undefined } {
    return { tasks: [], unified: this.dir };
  }

  private need(controller: string, field: string): void {
    if (!controllersOf(this.dir, this.layout.fake ? this.mount : undefined).includes(controller)) {
      throw unsupported(
        `${field} needs the cgroup v2 ${JSON.stringify(controller)} controller, which ${JSON.stringify(this.dir)} does not have (the host lacks it or a parent cgroup does not delegate it)`,
      );
    }
  }

  set(r: Resources): void {
    const d = this.dir;
    if (anySet(r.memory) && r.memory !== undefined) {
      this.need("memory", "linux.resources.memory");
      setMemoryV2(d, r.memory);
    }
    if (r.cpu !== undefined) {
      const { cpus, mems, ...rest } = r.cpu;
      if (anySet(rest)) {
        this.need("cpu", "linux.resources.cpu");
        setCpuV2(d, r.cpu);
      }
      if ((cpus ?? "") !== "" || (mems ?? "") !== "") {
        this.need("cpuset", "linux.resources.cpu.cpus/mems");
        setCpuset(d, r.cpu);
      }
    }
    if (r.pids !== undefined) {
      this.need("pids", "linux.resources.pids");
      setPids(d, r.pids);
    }
    if (anySet(r.blockIO) && r.blockIO !== undefined) {
      this.need("io", "linux.resources.blockIO");
      setIoV2(d, r.blockIO);
    }
    if (r.hugepageLimits.length > 0) {
      this.need("hugetlb", "linux.resources.hugepageLimits");
      setHugetlbV2(d, r.hugepageLimits);
    }
    if (r.network !== undefined) rejectNetworkV2(r.network);
    if (Object.keys(r.rdma).length > 0) {
      this.need("rdma", "linux.resources.rdma");
      setRdma(d, r.rdma);
    }
    if (r.devices.length > 0) this.attach(d, encodeInsns(deviceFilterInsns(r.devices)));
    setUnified(d, r.unified);
  }

  freeze(): void {
    freezeV2(this.dir, "frozen");
  }

  thaw(): void {
    freezeV2(this.dir, "thawed");
  }

  freezerState(): FreezerState {
    return freezerStateV2(this.dir);
  }

  stats(): Stats {
    const s = emptyStats();
    const d = this.dir;
    const has = controllersOf(d, this.layout.fake ? this.mount : undefined);
    if (has.includes("memory")) memoryStatsV2(d, s);
    cpuStatsV2(d, s); // cpu.stat usage is there even without the cpu controller
    if (has.includes("pids")) pidsStats(d, s);
    if (has.includes("io")) ioStatsV2(d, s);
    if (has.includes("hugetlb")) hugetlbStatsV2(d, s);
    return s;
  }

  pids(): number[] {
    return pidsBelow(this.dir);
  }

  oomKills(): number {
    return hasFile(this.dir, "memory.events") ? oomKillsV2(this.dir) : 0;
  }

  destroy(): void {
    if (!this.exists()) return;
    if (!this.layout.fake) {
      try {
        // cgroup.kill (5.14) kills frozen tasks too; without it, freeze so nothing forks away.
        if (hasFile(this.dir, "cgroup.kill")) writeCg(this.dir, "cgroup.kill", "1");
        else if (this.freezerState() === "thawed") this.freeze();
        killAll(this.dir, () => {
          if (this.freezerState() === "frozen") this.thaw();
        });
      } catch (e) {
        // Removed under us by another command (the engine's exit command and `rm -f` race): done.
        if (this.exists()) throw e;
        return;
      }
    }
    rmdirCg(this.dir, this.layout.fake);
  }
}
