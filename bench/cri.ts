// bench/cri: a pod's round trip through containerd's CRI plugin, leopard handler against runc
// handler in the same run: RunPodSandbox → CreateContainer → StartContainer (a started container:
// "up"), then StopContainer → RemoveContainer → StopPodSandbox → RemovePodSandbox ("total").
// leopard runs two ways, each against runc in its own containerd (test/cri/env.ts): direct (the
// shims' leopard-oci calls exec Bun: LEOPARD_SERVE=0) and served (a `leopard-oci serve` this bench
// starts on a private socket; LEOPARD_SERVE=1 makes an unserved call fail rather than go direct).
// Runs are interleaved; two warm-up rounds are not counted. Prints medians and ratios, asserts
// nothing. Then a few pods more per handler with every runtime call logged (bench/trace-wrapper.ts):
// how many calls of each command the shims make per pod and how long they take.
// `bun bench/cri.ts [N]` (default 10).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { type CriEnv, type Handler, OCI, RUNC, startCri } from "../test/cri/env.ts";
import { container, runPod } from "../test/cri/harness.ts";
import { traceSummary, traceWrapper } from "./trace-wrapper.ts";

const N = Number(process.argv[2] ?? 10);
const WARMUP = 2;
/** Pods per handler whose runtime calls are logged and counted. */
const TRACED = 3;
const traced: string[] = [];

interface Times {
  up: number;
  total: number;
}

async function roundTrip(env: CriEnv, h: Handler): Promise<Times> {
  const t0 = Bun.nanoseconds();
  const pod = await runPod(env, h, "bench");
  const id = await container(env, pod, {
    metadata: { name: "c" },
    image: { image: env.images.busybox },
    command: ["sleep", "1000"],
  });
  const up = (Bun.nanoseconds() - t0) / 1e6;
  await env.cri.call("StopContainer", { container_id: id, timeout: 0 });
  await env.cri.call("RemoveContainer", { container_id: id });
  await env.cri.call("StopPodSandbox", { pod_sandbox_id: pod.id });
  await env.cri.call("RemovePodSandbox", { pod_sandbox_id: pod.id });
  return { up, total: (Bun.nanoseconds() - t0) / 1e6 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

/** runc and leopard interleaved in one containerd; the medians of each. */
async function compare(env: CriEnv): Promise<Record<Handler, Times>> {
  const runs: Record<Handler, Times[]> = { runc: [], leopard: [] };
  for (let i = 0; i < N + WARMUP; i++) {
    for (const h of i % 2 === 0 ? (["runc", "leopard"] as const) : (["leopard", "runc"] as const)) {
      const t = await roundTrip(env, h);
      if (i >= WARMUP) runs[h].push(t);
    }
  }
  const med = (h: Handler): Times => ({
    up: median(runs[h].map((t) => t.up)),
    total: median(runs[h].map((t) => t.total)),
  });
  return { runc: med("runc"), leopard: med("leopard") };
}

const rows: string[][] = [];
function report(mode: string, r: Record<Handler, Times>): void {
  const f = (x: number) => `${x.toFixed(0)} ms`;
  rows.push([
    mode,
    f(r.runc.up),
    f(r.leopard.up),
    `${(r.leopard.up / r.runc.up).toFixed(2)}x`,
    f(r.runc.total),
    f(r.leopard.total),
    `${(r.leopard.total / r.runc.total).toFixed(2)}x`,
  ]);
}

// Direct.
let env = await startCri();
try {
  report("direct", await compare(env));
} finally {
  const left = await env.stop();
  if (left.length) console.error(`left behind: ${left.join(", ")}`);
}

// Served: a server of our own, on a socket only this bench's containerd names.
const serveDir = mkdtempSync(join(tmpdir(), "leopard-cri-serve-"));
mkdirSync(serveDir, { recursive: true, mode: 0o700 });
const server: Subprocess = Bun.spawn(
  [OCI, "serve", "--socket", join(serveDir, "leopard-oci.sock"), "--workers", "2"],
  {
    stdout: "ignore",
    stderr: "inherit",
  },
);
try {
  const env1 = { ...process.env, LEOPARD_SERVE_DIR: serveDir, LEOPARD_SERVE: "1" };
  for (
    let t = 0;
    Bun.spawnSync([OCI, "--version"], { env: env1, stdout: "ignore", stderr: "ignore" }).exitCode !== 0;
    t++
  ) {
    if (t > 300)
      throw new Error("the bench's leopard-oci serve never answered (a bundle older than src/ needs make)");
    Bun.sleepSync(100);
  }
  env = await startCri({ serveDir });
  try {
    report("served", await compare(env));
  } finally {
    const left = await env.stop();
    if (left.length) console.error(`left behind: ${left.join(", ")}`);
  }
  // What the shims ask of each runtime per pod (served): every call through a logging wrapper.
  const logs = { runc: join(serveDir, "trace-runc.log"), leopard: join(serveDir, "trace-leopard.log") };
  for (const log of Object.values(logs)) writeFileSync(log, "");
  const binaries = {
    runc: traceWrapper(join(serveDir, "trace-runc"), RUNC ?? "runc", logs.runc),
    leopard: traceWrapper(join(serveDir, "trace-leopard"), OCI, logs.leopard),
  };
  env = await startCri({ serveDir, binaries });
  try {
    for (let i = 0; i < TRACED; i++) for (const h of ["runc", "leopard"] as const) await roundTrip(env, h);
    for (const h of ["runc", "leopard"] as const) {
      const t = traceSummary(logs[h], TRACED);
      traced.push(
        `  ${(h === "runc" ? "runc" : "leopard-oci served").padEnd(18)} ${t.perUnit.toFixed(1)} calls/pod, ${t.msPerUnit.toFixed(1)} ms in the runtime per pod${t.failed ? `, ${t.failed} exited non-zero` : ""}`,
        ...t.byCmd.map(
          (c) => `      ${c.cmd.padEnd(8)} x${c.perUnit.toFixed(1)}  median ${c.medianMs.toFixed(1)} ms`,
        ),
      );
    }
  } finally {
    const left = await env.stop();
    if (left.length) console.error(`left behind: ${left.join(", ")}`);
  }
} finally {
  server.kill("SIGTERM");
  await server.exited;
  rmSync(serveDir, { recursive: true, force: true });
}

const head = ["leopard-oci", "runc up", "leopard up", "ratio", "runc total", "leopard total", "ratio"];
const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
const line = (r: string[]) => r.map((c, i) => c.padStart(w[i] ?? 0)).join("  ");
console.log(
  `CRI pod round trip (median of ${N}; up = RunPodSandbox to a started container, total = to a removed pod)`,
);
console.log([head, ...rows].map(line).join("\n"));
console.log(`\nruntime calls per pod (served; ${TRACED} pods each, through a logging wrapper):`);
console.log(traced.join("\n"));
