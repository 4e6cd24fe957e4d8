// `leopard version`, `info`, `system df`, `system prune` and `stats`: the engine about itself
// and its containers' resource use.
import { readdirSync, readFileSync, statSync } from "node:fs";
import type { ContainerRecord } from "../engine/db.ts";
import { refresh, removeContainer, short } from "../engine/lifecycle.ts";
import { reopenCgroup } from "../runtime/cgroup.ts";
import { spawnToolSync } from "../sys/host-tool.ts";
import { LeopardError } from "../util/errors.ts";
import { join } from "../util/path.ts";
import { openEngine, table } from "./engine-common.ts";
import { bytesSize, formatRows, humanSize, isTemplate, renderEach } from "./format.ts";
import { str, type Verb } from "./image-common.ts";

const VERSION = "0.1.0";

export const versionVerb: Verb = {
  usage: "version [--format json|TEMPLATE]",
  options: { format: { type: "string" } },
  args: [],
  run: (_g, v) => {
    const info = {
      Version: VERSION,
      Runtime: "leopard-oci",
      Bun: Bun.version,
      Os: "linux",
      Arch: process.arch === "x64" ? "amd64" : process.arch,
    };
    const format = str(v, "format");
    if (format === "json") process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
    else if (format !== undefined) process.stdout.write(renderEach(format, [info]));
    else for (const [k, x] of Object.entries(info)) process.stdout.write(`${`${k}:`.padEnd(10)}${x}\n`);
    return 0;
  },
};

function duBytes(dir: string): number {
  const r = spawnToolSync(["du", "-sb", "-x", dir], { stdout: "pipe", stderr: "ignore" });
  return Number(r.stdout.toString().split("\t")[0]) || 0;
}

export function human(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  let x = n;
  while (x >= 1000 && i < units.length - 1) {
    x /= 1000;
    i++;
  }
  return `${i === 0 ? x : x.toFixed(x < 10 ? 2 : 1)}${units[i]}`;
}

export const infoVerb: Verb = {
  usage: "info [--format json|TEMPLATE]",
  options: { format: { type: "string" } },
  args: [],
  run: async (g, v) => {
    const engine = openEngine(g);
    try {
      const all: ContainerRecord[] = [];
      for (const c of engine.db.all()) all.push(await refresh(engine, c));
      const { hostLayout } = await import("../cgroups/layout.ts");
      const info = {
        Containers: all.length,
        ContainersRunning: all.filter((c) => c.state === "running").length,
        ContainersPaused: all.filter((c) => c.state === "paused").length,
        ContainersStopped: all.filter((c) => c.state === "exited" || c.state === "created").length,
        Images: engine.store.meta.images().length,
        Volumes: engine.db.volumes().length,
        StorageRoot: engine.dirs.storage,
        RunRoot: engine.dirs.run,
        CgroupVersion: hostLayout().mode,
        Runtime: "leopard-oci (in-process)",
        Monitor: "conmon",
        Kernel: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim(),
        Version: VERSION,
      };
      const format = str(v, "format");
      if (format === "json") process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
      else if (format !== undefined) process.stdout.write(renderEach(format, [info]));
      else for (const [k, x] of Object.entries(info)) process.stdout.write(`${k}: ${x}\n`);
      return 0;
    } finally {
      engine.close();
    }
  },
};

export const dfVerb: Verb = {
  usage: "system df",
  options: {},
  args: [],
  run: async (g) => {
    const engine = openEngine(g);
    try {
      const images = engine.store.meta.images();
      const imgSize = images.reduce((n, i) => n + i.size, 0);
      const containers = engine.db.all();
      let ctrSize = 0;
      for (const c of containers) {
        const upper = join(engine.bundle(c.id), "upper");
        try {
          if (statSync(upper).isDirectory()) ctrSize += duBytes(upper);
        } catch {
          // Removed meanwhile: it takes no space.
        }
      }
      const vols = engine.db.volumes();
      let volSize = 0;
      for (const vol of vols) volSize += duBytes(join(engine.dirs.storage, "volumes", vol.name));
      const active = new Set(containers.map((c) => c.config.image));
      process.stdout.write(
        table(
          ["TYPE", "TOTAL", "ACTIVE", "SIZE"],
          [
            [
              "Images",
              String(images.length),
              String(images.filter((i) => active.has(i.id)).length),
              human(imgSize),
            ],
            [
              "Containers",
              String(containers.length),
              String(containers.filter((c) => c.state === "running").length),
              human(ctrSize),
            ],
            [
              "Local Volumes",
              String(vols.length),
              String(vols.filter((x) => engine.volumeUsers(x.name).length > 0).length),
              human(volSize),
            ],
          ],
        ),
      );
      return 0;
    } finally {
      engine.close();
    }
  },
};

export const systemPruneVerb: Verb = {
  usage: "system prune [-f] [--volumes]",
  options: { force: { type: "boolean", short: "f" }, volumes: { type: "boolean" } },
  args: [],
  run: async (g, v) => {
    const engine = openEngine(g);
    try {
      let removed = 0;
      for (const c of engine.db.all()) {
        const live = await refresh(engine, c);
        if (live.state !== "exited" && live.state !== "created") continue;
        if (engine.db.find(c.id) === undefined) continue;
        await removeContainer(engine, live, { force: false, volumes: v["volumes"] === true });
        removed++;
      }
      // What builds killed outright left; the containers of builds still running are theirs.
      const { BuildContainer, liveBuildContainers } = await import("../build/container.ts");
      await BuildContainer.sweep(engine.store, engine.dirs, engine.oci);
      const building = liveBuildContainers(engine.dirs);
      // Network leftovers of containers that no longer exist (a crashed command, a lost /run).
      const { pruneNetworking } = await import("../network/index.ts");
      const { networkPathsFor } = await import("../engine/network-cni.ts");
      const report = await pruneNetworking(networkPathsFor(engine.dirs), [
        ...engine.db.all().map((c) => c.id),
        ...building,
      ]);
      // Runtime state and root filesystems whose container record is gone.
      const known = new Set([...engine.db.all().map((c) => c.id), ...building]);
      const runtime = await import("../runtime/lifecycle.ts");
      for (const id of engine.oci.ids()) {
        if (!known.has(id)) await runtime.remove(engine.oci, id, true).catch(() => undefined);
      }
      const { removeRootfs } = await import("../image/rootfs.ts");
      let dirs: string[] = [];
      try {
        dirs = readdirSync(join(engine.dirs.storage, "containers"));
      } catch {
        // No containers directory yet: nothing to prune.
      }
      for (const id of dirs)
        if (!known.has(id) && /^[0-9a-f]{64}$/.test(id)) await removeRootfs(engine.store, id);
      process.stdout.write(
        `removed ${removed} container(s); network leftovers: ${report.netns} namespace(s), ${report.reservations} address(es), ${report.rules} rule(s), ${report.veths} veth(s)\n`,
      );
      return 0;
    } finally {
      engine.close();
    }
  },
};

function netIO(pid: number): [number, number] {
  let rx = 0;
  let tx = 0;
  try {
    for (const line of readFileSync(`/proc/${pid}/net/dev`, "utf8").split("\n").slice(2)) {
      const [name, rest] = line.split(":");
      if (!rest || name?.trim() === "lo") continue;
      const f = rest.trim().split(/\s+/).map(Number);
      rx += f[0] ?? 0;
      tx += f[8] ?? 0;
    }
  } catch {
    // The process has exited: no traffic to report.
  }
  return [rx, tx];
}

export const statsVerb: Verb = {
  usage: "stats [--no-stream] [--format table|json|TEMPLATE] [CONTAINER...]",
  options: { "no-stream": { type: "boolean" }, format: { type: "string" } },
  args: ["CONTAINER?"],
  run: async (g, v, a) => {
    const engine = openEngine(g);
    try {
      const pick = async (): Promise<ContainerRecord[]> => {
        const list: ContainerRecord[] = [];
        const refs = a.length > 0 ? a.map((r) => engine.db.get(r)) : engine.db.all();
        for (const c of refs) {
          const live = await refresh(engine, c);
          if (live.state === "running" || live.state === "paused") list.push(live);
          else if (a.length > 0) throw new LeopardError("bad-state", `container ${c.name} is not running`);
        }
        return list;
      };
      const sample = (c: ContainerRecord) => {
        const s = engine.oci.read(c.id);
        const cg = reopenCgroup(s.cgroupPaths);
        return { c, st: cg?.stats(), t: performance.now() };
      };
      for (;;) {
        const list = await pick();
        const first = list.map(sample);
        await Bun.sleep(500);
        const rows: string[][] = [];
        const objs: object[] = [];
        for (const f of first) {
          const s = sample(f.c);
          const cpuNs = (s.st?.cpu.usage.total ?? 0) - (f.st?.cpu.usage.total ?? 0);
          const cpu = (cpuNs / ((s.t - f.t) * 1e6)) * 100;
          const mem = s.st?.memory.usage.usage ?? 0;
          const limit = s.st?.memory.usage.limit ?? 0;
          const lim =
            limit > 0 && limit < 2 ** 62
              ? limit
              : Number(readFileSync("/proc/meminfo", "utf8").match(/MemTotal:\s+(\d+)/)?.[1] ?? 0) * 1024;
          const [rx, tx] = netIO(f.c.pid);
          const pids = s.st?.pids.current ?? 0;
          // docker's units: memory binary (64MiB), network decimal with 3 digits (1.23kB).
          const row = {
            BlockIO: "0B / 0B",
            CPUPerc: `${cpu.toFixed(2)}%`,
            Container: short(f.c.id),
            ID: short(f.c.id),
            MemPerc: `${((mem / lim) * 100).toFixed(2)}%`,
            MemUsage: `${bytesSize(mem)} / ${bytesSize(lim)}`,
            Name: f.c.name,
            NetIO: `${humanSize(rx, 3)} / ${humanSize(tx, 3)}`,
            PIDs: String(pids),
          };
          objs.push(row);
          rows.push([row.ID, row.Name, row.CPUPerc, row.MemUsage, row.MemPerc, row.NetIO, row.PIDs]);
        }
        const format = str(v, "format");
        if (isTemplate(format)) {
          if (v["no-stream"] !== true) process.stdout.write("\x1b[2J\x1b[H");
          process.stdout.write(
            formatRows(
              format,
              objs,
              {
                ID: "CONTAINER ID",
                CPUPerc: "CPU %",
                MemUsage: "MEM USAGE / LIMIT",
                MemPerc: "MEM %",
                NetIO: "NET I/O",
                BlockIO: "BLOCK I/O",
              },
              "",
            ),
          );
        } else {
          if (v["no-stream"] !== true) process.stdout.write("\x1b[2J\x1b[H");
          process.stdout.write(
            table(["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "PIDS"], rows),
          );
        }
        if (v["no-stream"] === true) return 0;
        await Bun.sleep(500);
      }
    } finally {
      engine.close();
    }
  },
};
