// bench/lifecycle: leopard-oci against runc on the same busybox bundle in the same run.
//   run /bin/true                      (one foreground command)
//   create + start + wait + delete     (what engines call, one process per step; the wait polls
//                                      /proc for the container's pid, as a monitor would)
// leopard runs two ways: direct (the launcher execs Bun: LEOPARD_SERVE=0) and served (a
// `leopard-oci serve` this bench starts on a private socket keeps warm workers; LEOPARD_SERVE=1
// makes an unserved call fail rather than silently go direct). Two warm-up rounds are not counted.
// Prints the median of each and the ratio leopard/runc. `make bench` or `bun bench/lifecycle.ts [N]`.
import { mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultSpec } from "../src/spec/defaults.ts";

const TOP = join(import.meta.dir, "..");
const N = Number(process.argv[2] ?? 30);
const OCI = join(TOP, "bin/leopard-oci");
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
// Both runtimes put each container in the same cgroup (one at a time), under /leopard-test.
(spec["linux"] as Record<string, unknown>)["cgroupsPath"] = "/leopard-test/bench";
writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));

const socket = join(work, "leopard-oci.sock");
const env = (serve: string) => ({ ...process.env, LEOPARD_SERVE: serve, LEOPARD_SERVE_DIR: work });
const runtimes: Record<string, { bin: string; env: Record<string, string | undefined> }> = {
  leopard: { bin: OCI, env: env("0") },
  "leopard-served": { bin: OCI, env: env("1") },
  runc: { bin: "runc", env: process.env },
};
const server = Bun.spawn([OCI, "serve", "--socket", socket, "--workers", "2"], {
  stdout: "ignore",
  stderr: "inherit",
});
for (
  let t = 0;
  Bun.spawnSync([OCI, "--version"], { env: env("1"), stdout: "ignore", stderr: "ignore" }).exitCode !== 0;
  t++
) {
  if (t > 300)
    throw new Error(
      "the bench's leopard-oci serve never answered (LEOPARD_SERVE=1 bin/leopard-oci --version says why: a bundle older than src/ needs make)",
    );
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

const results: Record<string, Record<string, number[]>> = {
  run: { leopard: [], "leopard-served": [], runc: [] },
  lifecycle: { leopard: [], "leopard-served": [], runc: [] },
};
try {
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
      if (i >= 0) {
        results["run"]![name]!.push(run);
        results["lifecycle"]![name]!.push(lifecycle);
      }
    }
  }
} finally {
  server.kill("SIGTERM");
  await server.exited;
  rmSync(work, { recursive: true, force: true });
  for (const ctl of readdirSync("/sys/fs/cgroup")) {
    for (const d of ["/leopard-test/bench", "/leopard-test"]) {
      try {
        rmdirSync(`/sys/fs/cgroup/${ctl}${d}`);
      } catch {}
    }
  }
}
console.log(`bench/lifecycle: ${N} iterations each, medians in ms`);
for (const [what, r] of Object.entries(results)) {
  const l = median(r["leopard"]!);
  const s = median(r["leopard-served"]!);
  const c = median(r["runc"]!);
  console.log(
    `${what.padEnd(10)} runc ${c.toFixed(1).padStart(7)}  leopard direct ${l.toFixed(1).padStart(7)} (ratio ${(l / c).toFixed(2)})  served ${s.toFixed(1).padStart(7)} (ratio ${(s / c).toFixed(2)})`,
  );
}
