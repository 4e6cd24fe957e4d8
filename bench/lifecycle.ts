// bench/lifecycle: leopard-oci against runc on the same busybox bundle in the same run.
//   run /bin/true                      (one foreground command)
//   create + start + wait + delete     (what engines call, one process per step; the wait polls
//                                      /proc for the container's pid, as a monitor would)
// Prints the median of each and the ratio leopard/runc. `make bench` or `bun bench/lifecycle.ts [N]`.
import { mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultSpec } from "../src/spec/defaults.ts";

const TOP = join(import.meta.dir, "..");
const N = Number(process.argv[2] ?? 30);
const runtimes = { leopard: join(TOP, "bin/leopard-oci"), runc: "runc" } as const;

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

function sh(argv: string[]): void {
  const r = Bun.spawnSync(argv, { stdout: "ignore", stderr: "pipe", cwd: bundle });
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
  run: { leopard: [], runc: [] },
  lifecycle: { leopard: [], runc: [] },
};
try {
  for (let i = 0; i < N; i++) {
    // Interleave the runtimes so drift in the machine's load affects both alike.
    for (const [name, bin] of Object.entries(runtimes)) {
      const root = join(work, `root-${name}`);
      const id = `b${i}`;
      results["run"]![name]!.push(timeIt(() => sh([bin, "--root", root, "run", "-b", bundle, id])));
      const lid = `l${i}`;
      results["lifecycle"]![name]!.push(
        timeIt(() => {
          const pidFile = join(work, `${name}-${lid}.pid`);
          sh([bin, "--root", root, "create", "-b", bundle, "--pid-file", pidFile, lid]);
          const pid = Number(readFileSync(pidFile, "utf8"));
          sh([bin, "--root", root, "start", lid]);
          while (!exited(pid)) Bun.sleepSync(0.5);
          sh([bin, "--root", root, "delete", lid]);
        }),
      );
    }
  }
} finally {
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
  const c = median(r["runc"]!);
  console.log(
    `${what.padEnd(10)} leopard ${l.toFixed(1).padStart(7)}  runc ${c.toFixed(1).padStart(7)}  ratio ${(l / c).toFixed(2)}`,
  );
}
