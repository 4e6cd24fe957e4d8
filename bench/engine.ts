// bench/engine: the engine against podman (with runc, its default runtime), on the same busybox
// image (leopard's embedded one, saved and loaded into podman):
//   1. `run --rm busybox true`, alternating in one run, with no network (--network none) and then
//      on each engine's default bridge (leopard: a CNI bridge; podman 4.3: netavark);
//      target: leopard at most 0.5x podman's time; leopard both direct (LEOPARD_SERVE=0: the
//      launcher execs Bun) and served by a `leopard serve` this bench starts on a private socket
//      (LEOPARD_SERVE=1: an unserved call fails instead of going direct);
//   2. containers started per second with 20 `run -d … sleep 1000` in parallel (then rm -f);
//   3. resident memory per detached idle container: what of the engine stays (conmon, and
//      whatever else), the container's own processes apart.
// Then where leopard's time goes (LEOPARD_TRACE=1 marks, median per phase).
// Everything lives in temp dirs, bridges "lpbench0" (leopard, 10.78.0.0/16) and "lpbpod0"
// (podman, 10.79.0.0/24), cgroups under /leopard-test/bench-engine; all removed at the end.
//   bun bench/engine.ts [N runs each, default 10] [P parallel, default 20] [M traced runs, default 5]
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeFirewalls } from "../src/network/firewall.ts";
import { IMAGE, makePodmanEnv, PODMAN, type PodmanEnv, removeCgroups } from "../test/compat/podman-env.ts";
import { engineProcesses, type MemSummary, summarize } from "./procmem.ts";

const TOP = join(import.meta.dir, "..");
const N = Number(process.argv[2] ?? 10);
const P = Number(process.argv[3] ?? 20);
const M = Number(process.argv[4] ?? 5);
const RUNC = Bun.which("runc");
if (!PODMAN || !RUNC || !Bun.which("conmon")) {
  process.stderr.write("bench/engine needs podman, runc and conmon on $PATH (make apt-deps)\n");
  process.exit(1);
}
const CGROUP_PARENT = "/leopard-test/bench-engine";
const PODMAN_CGROUP = `${CGROUP_PARENT}/podman`;
const BRIDGES = { leopard: "lpbench0", podman: "lpbpod0" } as const;
for (const b of Object.values(BRIDGES)) {
  if (existsSync(`/sys/class/net/${b}`)) {
    process.stderr.write(
      `bridge ${b} exists: another bench/engine is running, or a leftover (ip link del ${b})\n`,
    );
    process.exit(1);
  }
}

// Every process either engine starts inherits MARK: that is how its processes are found.
const MARK = `LEOPARD_BENCH_ENGINE=${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), "leopard-bench-engine-"));
const lenv: Record<string, string> = {
  ...(process.env as Record<string, string>),
  LEOPARD_STORAGE: join(dir, "storage"),
  LEOPARD_RUN: join(dir, "run"),
  LEOPARD_CGROUP_PARENT: CGROUP_PARENT,
  LEOPARD_BRIDGE_PREFIX: "lpbench",
  LEOPARD_SUBNET_POOL: "10.78.0.0/16",
  LEOPARD_BENCH_ENGINE: String(process.pid),
  LEOPARD_SERVE: "0",
};
const SOCKET = join(dir, "leopard.sock");
const servedEnv: Record<string, string> = { ...lenv, LEOPARD_SERVE: "1", LEOPARD_SERVE_DIR: dir };
let server: ReturnType<typeof Bun.spawn> | undefined;

/** A `leopard serve` for section 1, without MARK: its workers are not a container's memory. */
async function startServer(): Promise<void> {
  const { LEOPARD_BENCH_ENGINE: _, ...env } = lenv;
  server = Bun.spawn([join(TOP, "bin/leopard"), "serve", "--socket", SOCKET, "--workers", "2"], {
    env,
    stdout: "ignore",
    stderr: "inherit",
  });
  for (let t = 0; leopard(["version"], servedEnv).code !== 0; t++) {
    if (t > 300)
      throw new Error(
        "the bench's leopard serve never answered (LEOPARD_SERVE=1 bin/leopard version says why: a bundle older than src/ needs make)",
      );
    await Bun.sleep(100);
  }
}

type Engine = "leopard" | "podman";
type Runner = Engine | "served";
type Net = "none" | "bridge";
interface Result {
  code: number;
  out: string;
  err: string;
  ms: number;
  /** user+system CPU of the process and the children it waited for (0 when unknown). */
  cpuMs?: number;
}

function leopard(args: string[], env: Record<string, string> = lenv): Result {
  const t = Bun.nanoseconds();
  const r = Bun.spawnSync([join(TOP, "bin/leopard"), ...args], {
    env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const ms = (Bun.nanoseconds() - t) / 1e6;
  const cpuMs = Number(r.resourceUsage?.cpuTime.total ?? 0n) / 1000;
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString(), ms, cpuMs };
}

function must(what: string, r: Result): Result {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.err.trim()}`);
  return r;
}

let podmanEnv: PodmanEnv | undefined;

/** leopard builds its embedded busybox on first use; podman gets exactly that image. */
function setup(): PodmanEnv {
  must("leopard run busybox", leopard(["run", "--rm", "--network", "none", "busybox", "true"]));
  const archive = join(dir, "busybox.tar");
  must("leopard save", leopard(["save", "--format", "docker-archive", "-o", archive, "busybox"]));
  podmanEnv = makePodmanEnv({
    cgroupParent: PODMAN_CGROUP,
    archive,
    bridge: { name: "lpbench", iface: BRIDGES.podman, subnet: "10.79.0.0/24", gateway: "10.79.0.1" },
  });
  podmanEnv.env["LEOPARD_BENCH_ENGINE"] = String(process.pid);
  return podmanEnv;
}

function podman(args: string[]): Result {
  const t = Bun.nanoseconds();
  const r = (podmanEnv ?? setup()).podman("runc", args);
  return { code: r.code, out: r.stdout, err: r.stderr, ms: (Bun.nanoseconds() - t) / 1e6 };
}

/** The argv after the engine's name for `run`, per engine and network. */
function runArgs(engine: Engine, net: Net, rest: string[]): string[] {
  const n = net === "none" ? ["--network", "none"] : [];
  return engine === "leopard"
    ? ["run", ...n, "busybox", ...rest]
    : ["run", ...n, "--cgroup-parent", PODMAN_CGROUP, IMAGE, ...rest];
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};
const loadavg = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const col = (s: string, w: number) => s.padEnd(w);
const num = (s: string, w: number) => s.padStart(w);
const rows: string[] = [];

function runTrue(runner: Runner, net: Net): number {
  const engine: Engine = runner === "podman" ? "podman" : "leopard";
  const args = runArgs(engine, net, ["true"]);
  args.splice(1, 0, "--rm");
  const r = runner === "podman" ? podman(args) : leopard(args, runner === "served" ? servedEnv : lenv);
  return must(`${runner} ${args.join(" ")}`, r).ms;
}

/** P containers started at once; the wall time until every `run -d` has returned. */
async function parallel(engine: Engine, net: Net): Promise<{ ms: number; ids: string[] }> {
  const t = Bun.nanoseconds();
  const procs = Array.from({ length: P }, () => {
    const args = runArgs(engine, net, ["sleep", "1000"]);
    args.splice(1, 0, "-d");
    const argv =
      engine === "leopard"
        ? [join(TOP, "bin/leopard"), ...args]
        : [PODMAN ?? "podman", ...podmanGlobals(), ...args];
    return Bun.spawn(argv, {
      env: engine === "leopard" ? lenv : (podmanEnv?.env ?? lenv),
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
  });
  const ids: string[] = [];
  const errors: string[] = [];
  for (const p of procs) {
    const [out, err, code] = await Promise.all([
      new Response(p.stdout).text(),
      new Response(p.stderr).text(),
      p.exited,
    ]);
    if (code === 0) ids.push(out.trim());
    else errors.push(`(${code}) ${err.trim()}`);
  }
  const ms = (Bun.nanoseconds() - t) / 1e6;
  if (errors.length > 0) {
    removeAll(engine, ids);
    throw new Error(`${engine} run -d: ${errors.length} of ${P} failed: ${errors[0]}`);
  }
  return { ms, ids };
}

function podmanGlobals(): string[] {
  const d = podmanEnv?.dir ?? "";
  return ["--root", join(d, "root"), "--runroot", join(d, "runroot"), "--tmpdir", join(d, "tmp")].concat([
    "--storage-driver",
    "overlay",
    "--runtime",
    "runc",
  ]);
}

/** rm -f of all at once (podman with --time 0: like docker's and leopard's rm -f, SIGKILL at once). */
function removeAll(engine: Engine, ids: string[]): Result {
  if (ids.length === 0) return { code: 0, out: "", err: "", ms: 0 };
  return engine === "leopard" ? leopard(["rm", "-f", ...ids]) : podman(["rm", "-f", "--time", "0", ...ids]);
}

function memLine(engine: Engine, m: MemSummary, count: number): { perCtr: number; line: string } {
  let rss = 0;
  let pss = 0;
  const parts: string[] = [];
  for (const [name, e] of m.byName) {
    rss += e.rss;
    pss += e.pss;
    parts.push(`${e.count} ${name}`);
  }
  const kb = (x: number) => `${(x / count / 1024).toFixed(2)} MiB`;
  return {
    perCtr: rss / count,
    line: `  ${col(engine, 8)} ${num(kb(rss), 10)} ${num(kb(pss), 10)}   ${parts.join(", ") || "nothing"}; container: ${kb(m.containerRss)} RSS (${m.containerCount} processes)`,
  };
}

async function main(): Promise<void> {
  setup();
  console.log(`bench/engine: leopard vs podman ${podmanVersion()} + runc, N=${N}, load ${loadavg()}`);
  // 1. run --rm busybox true
  rows.push("1. run --rm busybox true (median ms, alternating)");
  rows.push(
    `  ${col("network", 8)} ${num("podman", 9)} ${num("direct", 9)} ${num("ratio", 7)} ${num("served", 9)} ${num("ratio", 7)}`,
  );
  await startServer();
  const runners = ["leopard", "served", "podman"] as const;
  for (const net of ["none", "bridge"] as const) {
    for (const e of runners) for (let i = 0; i < 2; i++) runTrue(e, net);
    const times: Record<Runner, number[]> = { leopard: [], served: [], podman: [] };
    for (let i = 0; i < N; i++) {
      for (const e of i % 2 === 0 ? runners : [...runners].reverse()) times[e].push(runTrue(e, net));
    }
    const l = median(times.leopard);
    const sv = median(times.served);
    const p = median(times.podman);
    rows.push(
      `  ${col(net, 8)} ${num(p.toFixed(0), 9)} ${num(l.toFixed(0), 9)} ${num(`${(l / p).toFixed(2)}x`, 7)} ${num(sv.toFixed(0), 9)} ${num(`${(sv / p).toFixed(2)}x`, 7)}   (target <= 0.50x)`,
    );
    console.log(rows.at(-1));
  }
  server?.kill("SIGTERM");
  await server?.exited;

  // 2 and 3: P detached containers at once, their memory once idle, then rm -f.
  rows.push(`2. ${P} x run -d busybox sleep 1000 in parallel, then rm -f of all`);
  rows.push(
    `  ${col("network", 8)} ${col("engine", 8)} ${num("start s", 8)} ${num("ctr/s", 7)} ${num("rm -f s", 8)}`,
  );
  const mem: string[] = [];
  const perCtr: Partial<Record<Engine, number>> = {};
  const rate: Record<string, number> = {};
  for (const net of ["none", "bridge"] as const) {
    for (const e of ["leopard", "podman"] as const) {
      const { ms, ids } = await parallel(e, net);
      if (net === "none") {
        await Bun.sleep(2000); // let whatever exits on its own exit
        const m = summarize(engineProcesses(MARK, e === "leopard" ? dir : (podmanEnv?.dir ?? dir)));
        const ml = memLine(e, m, ids.length);
        perCtr[e] = ml.perCtr;
        mem.push(ml.line);
      }
      const rm = must(`${e} rm -f`, removeAll(e, ids));
      rate[`${net} ${e}`] = (ids.length * 1000) / ms;
      rows.push(
        `  ${col(net, 8)} ${col(e, 8)} ${num((ms / 1000).toFixed(1), 8)} ${num(rate[`${net} ${e}`]?.toFixed(1) ?? "", 7)} ${num((rm.ms / 1000).toFixed(1), 8)}`,
      );
      console.log(rows.at(-1));
    }
    rows.push(
      `  ${col(net, 8)} ratio leopard/podman containers per second: ${((rate[`${net} leopard`] ?? 0) / (rate[`${net} podman`] ?? 1)).toFixed(2)}x`,
    );
  }
  rows.push(`3. memory per detached idle container (--network none, ${P} containers; RSS and PSS)`);
  rows.push(`  ${col("engine", 8)} ${num("RSS", 10)} ${num("PSS", 10)}   engine processes that stay`);
  rows.push(...mem);
  if (perCtr.leopard !== undefined && perCtr.podman !== undefined)
    rows.push(`  ratio leopard/podman (RSS of what stays): ${(perCtr.leopard / perCtr.podman).toFixed(2)}x`);

  // Where leopard's time goes.
  rows.push(`4. leopard run --rm busybox true: median ms per phase over ${M} runs (LEOPARD_TRACE=1)`);
  for (const net of ["none", "bridge"] as const) rows.push(...phases(net));

  console.log(`\n${rows.join("\n")}\nload at the end: ${loadavg()}`);
}

function phases(net: Net): string[] {
  const by = new Map<string, number[]>();
  const total: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < M; i++) {
    const args = runArgs("leopard", net, ["true"]);
    args.splice(1, 0, "--rm");
    const r = must("leopard (traced)", leopard(args, { ...lenv, LEOPARD_TRACE: "1" }));
    total.push(r.ms);
    cpu.push(r.cpuMs ?? 0);
    let last = 0;
    for (const m of r.err.matchAll(/^leopard-trace:\s+([\d.]+) ms \(\+[\d.]+\) (.*)$/gm)) {
      const at = Number(m[1]);
      by.set(m[2] ?? "?", [...(by.get(m[2] ?? "?") ?? []), at - last]);
      last = at;
    }
    by.set("(exit and the rest)", [...(by.get("(exit and the rest)") ?? []), r.ms - last]);
  }
  const out = [
    `  network ${net}: total ${median(total).toFixed(0)} ms, CPU (user+sys, with the helper and the container) ${median(cpu).toFixed(0)} ms`,
  ];
  for (const [what, xs] of by) out.push(`    ${num(median(xs).toFixed(0), 6)}  ${what}`);
  return out;
}

function mountsUnder(d: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m === d || m.startsWith(`${d}/`));
}

function podmanVersion(): string {
  return podman(["version", "--format", "{{.Client.Version}}"]).out.trim();
}

/** Containers of both engines, bridges, mounts, the temp dirs and cgroups: what stayed is reported. */
function cleanup(): void {
  const ids = leopard(["ps", "-aq", "--no-trunc"]).out.split("\n").filter(Boolean);
  removeAll("leopard", ids);
  const { mounts, cgroups } = podmanEnv?.cleanup(["runc"]) ?? { mounts: [], cgroups: [] };
  // leopard's run dir keeps its netns directory mounted (as `ip netns` does /run/netns).
  for (const m of mountsUnder(dir).reverse()) Bun.spawnSync(["umount", "-l", m]);
  const left = mountsUnder(dir);
  if (left.length === 0) rmSync(dir, { recursive: true, force: true });
  for (const b of Object.values(BRIDGES))
    if (existsSync(`/sys/class/net/${b}`)) Bun.spawnSync(["ip", "link", "del", b]);
  removeFirewalls((b) => b === BRIDGES.leopard);
  const stayed = [...mounts, ...left, ...cgroups, ...removeCgroups(CGROUP_PARENT)];
  if (stayed.length > 0) process.stderr.write(`left behind: ${stayed.join(", ")}\n`);
}

try {
  await main();
} finally {
  if (server && server.exitCode === null) {
    server.kill("SIGTERM");
    await server.exited;
  }
  cleanup();
}
