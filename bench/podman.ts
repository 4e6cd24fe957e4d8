// bench/podman: `podman --runtime X run --rm busybox true`, X = runc and an installed leopard-oci
// (make install into a temp PREFIX), alternating in one run: the median of each and the ratio
// leopard/runc. leopard-oci runs two ways: direct (LEOPARD_SERVE=0: the launcher execs Bun) and
// served by a socket-activated `leopard-oci serve` (systemd-socket-activate on a private socket,
// as systemd's leopard-oci.socket would; a plain `serve` where that is missing; LEOPARD_SERVE=1:
// an unserved call fails rather than silently going direct). podman and conmon do not pass these
// variables on, so each mode is a two-line sh wrapper that sets them and execs the installed
// leopard-oci (a few ms per call, in both modes). Then the first podman run after activation
// (a fresh activator each round) against a direct one. Then, through a wrapper that logs each
// call, how many runtime processes podman (and conmon) start per container and how long each
// command takes (state, create, start, delete, ...). The podman setup (storage in a temp dir,
// containers.conf, busybox imported from a rootfs tar) is the compat test's
// (test/compat/podman-env.ts).
//   bun bench/podman.ts [N runs each, default 20] [M traced runs each, default 5]
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IMAGE, makePodmanEnv, PODMAN } from "../test/compat/podman-env.ts";
import { activatedServer, CAN_ACTIVATE } from "./activate.ts";
import { traceSummary, traceWrapper } from "./trace-wrapper.ts";

const TOP = join(import.meta.dir, "..");
const N = Number(process.argv[2] ?? 20);
const M = Number(process.argv[3] ?? 5);
const RUNC = Bun.which("runc");
if (!PODMAN || !RUNC) {
  process.stderr.write("bench/podman needs podman and runc on $PATH\n");
  process.exit(1);
}
const serveDir = mkdtempSync(join(tmpdir(), "leopard-bench-serve-"));
const prefix = join(serveDir, "prefix");
const installed = Bun.spawnSync(["make", "-s", "-C", TOP, "install", `PREFIX=${prefix}`], { stderr: "pipe" });
if (installed.exitCode !== 0) throw new Error(`make install failed: ${installed.stderr.toString()}`);
const OCI = join(prefix, "bin/leopard-oci");
const socket = join(serveDir, "leopard-oci.sock");
const activated = (): ReturnType<typeof Bun.spawn> => activatedServer(OCI, socket);
function modeWrapper(mode: "0" | "1"): string {
  const path = join(serveDir, `leopard-oci-serve-${mode}`);
  writeFileSync(
    path,
    `#!/bin/sh\nLEOPARD_SERVE=${mode} LEOPARD_SERVE_WAIT_MS=30000 LEOPARD_SERVE_DIR=${serveDir} exec ${JSON.stringify(OCI)} "$@"\n`,
  );
  chmodSync(path, 0o755);
  return path;
}
const runtimes = { runc: RUNC, leopard: modeWrapper("0"), "leopard-served": modeWrapper("1") } as const;
type Name = keyof typeof runtimes;
let server = activated();
for (
  let t = 0;
  Bun.spawnSync([runtimes["leopard-served"], "--version"], { stdout: "ignore", stderr: "ignore" })
    .exitCode !== 0;
  t++
) {
  if (t > 300)
    throw new Error(
      "the bench's leopard-oci serve never answered (LEOPARD_SERVE=1 bin/leopard-oci --version says why: a bundle older than src/ needs make)",
    );
  Bun.sleepSync(100);
}
const CGROUP_PARENT = "/leopard-test/bench-podman";

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};
const ms = (x: number): string => `${x.toFixed(1)} ms`;

const penv = makePodmanEnv({ cgroupParent: CGROUP_PARENT });
const runArgs = ["run", "--rm", "--cgroup-parent", CGROUP_PARENT, IMAGE, "true"];

function runOnce(runtime: string): number {
  const t = Bun.nanoseconds();
  const r = penv.podman(runtime, runArgs);
  const elapsed = (Bun.nanoseconds() - t) / 1e6;
  if (r.code !== 0) throw new Error(`podman --runtime ${runtime} run failed (${r.code}): ${r.stderr}`);
  return elapsed;
}

function wrapper(name: Name, log: string): string {
  return traceWrapper(join(penv.dir, `trace-${name}`), runtimes[name], log);
}

try {
  // Warm up both (page cache, podman's storage), then alternate.
  const names = Object.keys(runtimes) as Name[];
  for (const name of names) for (let i = 0; i < 2; i++) runOnce(runtimes[name]);
  const times: Record<Name, number[]> = { runc: [], leopard: [], "leopard-served": [] };
  for (let i = 0; i < N; i++) {
    for (const name of i % 2 === 0 ? names : [...names].reverse()) times[name].push(runOnce(runtimes[name]));
  }
  const mr = median(times.runc);
  const ml = median(times.leopard);
  const msv = median(times["leopard-served"]);
  console.log(`podman run --rm ${IMAGE} true, ${N} runs each, alternating (load: ${loadavg()})`);
  console.log(`  runc                  median ${ms(mr)}`);
  console.log(`  leopard-oci direct    median ${ms(ml)}   ratio ${(ml / mr).toFixed(2)}x`);
  console.log(
    `  leopard-oci served    median ${ms(msv)}   ratio ${(msv / mr).toFixed(2)}x   (target <= 0.90x; installed, ${!CAN_ACTIVATE ? "serve" : "socket-activated"})`,
  );
  // The first call after activation: nothing runs until podman's first runtime call starts it.
  const first: number[] = [];
  const direct: number[] = [];
  for (let i = 0; i < Math.min(N, 5); i++) {
    server.kill("SIGTERM");
    await server.exited;
    server = activated();
    while (Bun.spawnSync(["test", "-S", socket]).exitCode !== 0) Bun.sleepSync(5);
    first.push(runOnce(runtimes["leopard-served"]));
    direct.push(runOnce(runtimes.leopard));
  }
  console.log(
    `  first run after activation median ${ms(median(first))}, direct ${ms(median(direct))}: ratio ${(median(first) / median(direct)).toFixed(2)}x (target <= 1.30x)`,
  );

  console.log(`\nruntime processes per container (${M} traced runs each, through a logging wrapper):`);
  for (const name of names) {
    const log = join(penv.dir, `trace-${name}.log`);
    writeFileSync(log, "");
    const w = wrapper(name, log);
    for (let i = 0; i < M; i++) runOnce(w);
    const t = traceSummary(log, M);
    console.log(
      `  ${name.padEnd(14)}  ${t.perUnit.toFixed(1)} calls/container, ${ms(t.msPerUnit)} in the runtime per container${t.failed ? `, ${t.failed} calls exited non-zero` : ""}`,
    );
    for (const c of t.byCmd)
      console.log(`      ${c.cmd.padEnd(8)} x${c.perUnit.toFixed(1)}  median ${ms(c.medianMs)}`);
  }
} finally {
  server.kill("SIGTERM");
  await server.exited;
  const { mounts, cgroups } = penv.cleanup([runtimes.runc, runtimes.leopard]);
  rmSync(serveDir, { recursive: true, force: true });
  if (mounts.length + cgroups.length > 0)
    process.stderr.write(`left behind: ${[...mounts, ...cgroups].join(", ")}\n`);
}

function loadavg(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}
