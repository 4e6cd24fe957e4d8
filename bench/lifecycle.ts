// bench/lifecycle: leopard-oci against runc on the same busybox bundle in the same run.
//   run /bin/true                      (one foreground command)
//   create + start + wait + delete     (what engines call, one process per step; the wait polls
//                                      /proc for the container's pid, as a monitor would)
//   state, kill, list                  (the light verbs: state and kill of a missing id, list of
//                                      the root the runs above used)
//   exec /bin/true                     (into a running container of each runtime's own, as a
//                                      kubelet's exec probe or `docker exec` does)
// leopard runs two ways: direct (the launcher execs Bun: LEOPARD_SERVE=0) and served by a
// socket-activated `leopard-oci serve` (systemd-socket-activate on a private socket, as systemd's
// .socket unit would; a plain `serve` where that is missing), warm: LEOPARD_SERVE=1 makes an
// unserved call fail rather than silently go direct. Two warm-up rounds are not counted.
// Then the first call after activation: a fresh activator per round, its first `run` timed
// against a direct `run`.
// leopard is an installed tree (make install into a temporary PREFIX), as bench/podman.ts uses.
// Prints the median of each and the ratio leopard/runc. `make bench` or `bun bench/lifecycle.ts [N]`.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultSpec } from "../src/config/defaults.ts";
import { getRlimit, RLIMIT_NOFILE, setRlimit } from "../src/sys/rlimit.ts";
import { activatedServer, CAN_ACTIVATE } from "./activate.ts";

const TOP = join(import.meta.dir, "..");
const N = Number(process.argv[2] ?? 30);
// The harness's own cost out of the numbers: Bun's spawn closes every fd up to the soft open-file
// limit in the child before it execs, ~2.3 ms per call at a soft limit of 20,000 (what some
// sessions here have) against ~0 at 1,024 (a login shell's default; hyperfine, the tool,
// closes nothing). It was added to both runtimes' times alike, pulling every ratio toward 1. The
// hard limit is kept (a server declines a caller with a lower one).
const NOFILE_SOFT = 1024n;
{
  const n = getRlimit(RLIMIT_NOFILE);
  if (n.soft > NOFILE_SOFT) setRlimit(RLIMIT_NOFILE, { soft: NOFILE_SOFT, hard: n.hard });
}
// leopard as users get it: `make install` into a temporary PREFIX (no source is looked at; the
// checkout's launcher also stats the sources its bundle was built from on every call).
const prefix = mkdtempSync(join(tmpdir(), "leopard-bench-prefix-"));
const installed = Bun.spawnSync(["make", "-s", "-C", TOP, "install", `PREFIX=${prefix}`], { stderr: "pipe" });
if (installed.exitCode !== 0) throw new Error(`make install failed: ${installed.stderr.toString()}`);
const OCI = join(prefix, "bin/leopard-oci");
const WARMUP = 2;

function rootfs(): string {
  const dir = join(TOP, "build/rootfs/busybox-0");
  const r = Bun.spawnSync([join(TOP, "scripts/make-rootfs.sh"), dir, "0"]);
  if (r.exitCode !== 0) throw new Error("make-rootfs failed");
  return dir;
}

const work = mkdtempSync(join(tmpdir(), "leopard-bench-"));
const bundle = join(work, "bundle");
Bun.spawnSync(["mkdir", "-p", bundle]);
const spec = defaultSpec({ args: ["/bin/true"] }) as unknown as Record<string, unknown>;
(spec["process"] as Record<string, unknown>)["terminal"] = false;
spec["root"] = { path: rootfs(), readonly: true };
// Both runtimes put each container in the same cgroup (one at a time), under /leopard-test. Its
// parent is made first and kept to the end: another run's cleanup of an empty /leopard-test
// cannot take the path away between two containers.
const CGROUP = `/leopard-test/bench-${process.pid}`;
for (const ctl of readdirSync("/sys/fs/cgroup")) {
  try {
    mkdirSync(`/sys/fs/cgroup/${ctl}${CGROUP}`, { recursive: true });
    // v1 cpuset: a cgroup's processes need its cpus and mems set, down from the root.
    for (const f of ["cpuset.cpus", "cpuset.mems"])
      for (const d of ["/leopard-test", CGROUP])
        if (ctl === "cpuset")
          writeFileSync(`/sys/fs/cgroup/cpuset${d}/${f}`, readFileSync(`/sys/fs/cgroup/cpuset/${f}`));
  } catch {}
}
(spec["linux"] as Record<string, unknown>)["cgroupsPath"] = `${CGROUP}/c`;
writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
/** The bundle of each runtime's long-running container that exec goes into (a cgroup of its own). */
function sleeper(name: string): string {
  const dir = join(work, `sleeper-${name}`);
  mkdirSync(dir);
  const s = structuredClone(spec) as Record<string, Record<string, unknown>>;
  s["process"]!["args"] = ["/bin/sleep", "100000"];
  s["linux"]!["cgroupsPath"] = `${CGROUP}/x-${name}`;
  writeFileSync(join(dir, "config.json"), JSON.stringify(s));
  return dir;
}

const socket = join(work, "leopard-oci.sock");
const env = (serve: string) => ({ ...process.env, LEOPARD_SERVE: serve, LEOPARD_SERVE_DIR: work });
const runtimes: Record<string, { bin: string; env: Record<string, string | undefined> }> = {
  leopard: { bin: OCI, env: env("0") },
  "leopard-served": { bin: OCI, env: env("1") },
  runc: { bin: "runc", env: process.env },
};
const activated = (): ReturnType<typeof Bun.spawn> => activatedServer(OCI, socket);
const server = activated();
for (
  let t = 0;
  Bun.spawnSync([OCI, "--version"], { env: env("1"), stdout: "ignore", stderr: "ignore" }).exitCode !== 0;
  t++
) {
  if (t > 300) {
    server.kill("SIGTERM");
    throw new Error(
      "the bench's leopard-oci serve never answered (LEOPARD_SERVE=1 bin/leopard-oci --version says why: a bundle older than src/ needs make)",
    );
  }
  Bun.sleepSync(100);
}

let currentEnv: Record<string, string | undefined> = process.env;
function sh(argv: string[]): void {
  const r = Bun.spawnSync(argv, { stdout: "ignore", stderr: "pipe", cwd: bundle, env: currentEnv });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} failed (${r.exitCode}): ${r.stderr.toString()}`);
}

function timeIt(f: () => void): number {
  const t = Bun.nanoseconds();
  f();
  return (Bun.nanoseconds() - t) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

/** Whether the process is gone (or a zombie): what an engine's monitor waits for. */
function exited(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

const VERBS = ["run", "lifecycle", "state", "kill", "list", "exec"] as const;
const results: Record<string, Record<string, number[]>> = Object.fromEntries(
  VERBS.map((v) => [v, { leopard: [], "leopard-served": [], runc: [] }]),
);
/** Runs argv, which must fail (a missing container): the error path engines hit too. */
function fails(argv: string[]): void {
  const r = Bun.spawnSync(argv, { stdout: "ignore", stderr: "ignore", cwd: bundle, env: currentEnv });
  if (r.exitCode === 0) throw new Error(`${argv.join(" ")} succeeded`);
}
const first: number[] = [];
const firstDirect: number[] = [];
const sleepers: string[] = [];
try {
  for (const [name, { bin, env: e }] of Object.entries(runtimes)) {
    currentEnv = e;
    sh([bin, "--root", join(work, `root-${name}`), "run", "-d", "-b", sleeper(name), "x"]);
    sleepers.push(name);
  }
  for (let i = -WARMUP; i < N; i++) {
    // Interleave the runtimes so drift in the machine's load affects all alike.
    for (const [name, { bin, env: e }] of Object.entries(runtimes)) {
      currentEnv = e;
      const root = join(work, `root-${name}`);
      const id = `b${i + WARMUP}`;
      const run = timeIt(() => sh([bin, "--root", root, "run", "-b", bundle, id]));
      const lid = `l${i + WARMUP}`;
      const lifecycle = timeIt(() => {
        const pidFile = join(work, `${name}-${lid}.pid`);
        sh([bin, "--root", root, "create", "-b", bundle, "--pid-file", pidFile, lid]);
        const pid = Number(readFileSync(pidFile, "utf8"));
        sh([bin, "--root", root, "start", lid]);
        while (!exited(pid)) Bun.sleepSync(0.5);
        sh([bin, "--root", root, "delete", lid]);
      });
      const state = timeIt(() => fails([bin, "--root", root, "state", "missing"]));
      const kill = timeIt(() => fails([bin, "--root", root, "kill", "missing", "KILL"]));
      const list = timeIt(() => sh([bin, "--root", root, "list"]));
      const exec = timeIt(() => sh([bin, "--root", root, "exec", "x", "/bin/true"]));
      if (i >= 0) {
        results["exec"]![name]!.push(exec);
        results["run"]![name]!.push(run);
        results["lifecycle"]![name]!.push(lifecycle);
        results["state"]![name]!.push(state);
        results["kill"]![name]!.push(kill);
        results["list"]![name]!.push(list);
      }
    }
  }
  server.kill("SIGTERM");
  await server.exited;
  // The first call after activation: nothing runs until the call, which waits for the server.
  const firstEnv = { ...env("1"), LEOPARD_SERVE_WAIT_MS: "30000" };
  for (let i = 0; i < Math.min(N, 10); i++) {
    const fresh = activated();
    while (Bun.spawnSync(["test", "-S", socket]).exitCode !== 0) Bun.sleepSync(5);
    currentEnv = firstEnv;
    first.push(timeIt(() => sh([OCI, "--root", join(work, "root-first"), "run", "-b", bundle, `f${i}`])));
    currentEnv = env("0");
    firstDirect.push(
      timeIt(() => sh([OCI, "--root", join(work, "root-first"), "run", "-b", bundle, `d${i}`])),
    );
    fresh.kill("SIGTERM");
    await fresh.exited;
  }
} finally {
  for (const name of sleepers) {
    currentEnv = name === "runc" ? process.env : env("0"); // the server is stopped by now
    sh([runtimes[name]!.bin, "--root", join(work, `root-${name}`), "delete", "--force", "x"]);
  }
  server.kill("SIGTERM");
  await server.exited;
  rmSync(work, { recursive: true, force: true });
  rmSync(prefix, { recursive: true, force: true });
  for (const ctl of readdirSync("/sys/fs/cgroup")) {
    for (const d of [`${CGROUP}/c`, ...Object.keys(runtimes).map((n) => `${CGROUP}/x-${n}`), CGROUP]) {
      try {
        rmdirSync(`/sys/fs/cgroup/${ctl}${d}`);
      } catch {}
    }
  }
}
console.log(
  `bench/lifecycle: ${N} iterations each, medians in ms (served: ${!CAN_ACTIVATE ? "serve" : "socket-activated"}; harness soft NOFILE ${getRlimit(RLIMIT_NOFILE).soft}; load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")})`,
);
for (const [what, r] of Object.entries(results)) {
  const l = median(r["leopard"]!);
  const s = median(r["leopard-served"]!);
  const c = median(r["runc"]!);
  console.log(
    `${what.padEnd(10)} runc ${c.toFixed(1).padStart(7)}  leopard direct ${l.toFixed(1).padStart(7)} (ratio ${(l / c).toFixed(2)})  served ${s.toFixed(1).padStart(7)} (ratio ${(s / c).toFixed(2)})`,
  );
}
const f = median(first);
const fd = median(firstDirect);
console.log(
  `first call after activation: run ${f.toFixed(1)} ms, direct run ${fd.toFixed(1)} ms (ratio ${(f / fd).toFixed(2)}; ${first.length} rounds${!CAN_ACTIVATE ? ", no systemd-socket-activate: serve started just before" : ""})`,
);
