// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile variables, not templates
// bench/build: `leopard build` and `leopard push` against `podman build` and `podman push` (its
// default runtime runc), interleaved in one run on the same context and the same busybox (leopard's
// embedded image, saved and loaded into podman), both builds with --network none:
//   1. a cold build of a small multi-step Dockerfile (FROM, ARG, ENV, WORKDIR, COPY ×2, RUN ×2,
//      USER, CMD; 2 RUN) with --no-cache: the base image is there, every step runs; target ≤ 1.0× podman;
//   2. the same build again with every step cached; target ≤ 0.3× podman;
//   3. a push of a 3-layer image (busybox's layer, a COPY's, a RUN's) to a loopback
//      docker-registry, a fresh registry per push (nothing there to skip or mount); target ≤ 1.0×.
// Each engine has its own storage under one temp dir (podman: --root/--runroot there), removed
// at the end with the registries (started and stopped by pid) and the cgroups under
// /leopard-test/bench-build. Prints the medians, the ratio leopard/podman and the target; never
// asserts. Then where leopard's time goes in a cold build (LEOPARD_TRACE=1 marks, one build).
//   bun bench/build.ts [N rounds, default 5]
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { IMAGE, makePodmanEnv, PODMAN, type PodmanEnv, removeCgroups } from "../test/compat/podman-env.ts";
import { type RunningRegistry, startRegistry } from "../test/image/harness.ts";

const TOP = join(import.meta.dir, "..");
const N = Number(process.argv[2] ?? 5);
if (!PODMAN || !Bun.which("runc") || !Bun.which("docker-registry")) {
  process.stderr.write("bench/build needs podman, runc and docker-registry on $PATH (make apt-deps)\n");
  process.exit(1);
}
const CGROUP_PARENT = "/leopard-test/bench-build";
const dir = mkdtempSync(join(tmpdir(), "leopard-bench-build-"));
const lenv: Record<string, string> = {
  ...(process.env as Record<string, string>),
  LEOPARD_STORAGE: join(dir, "storage"),
  LEOPARD_RUN: join(dir, "run"),
  LEOPARD_CGROUP_PARENT: CGROUP_PARENT,
  LEOPARD_BRIDGE_PREFIX: "lpbbuild",
  LEOPARD_SUBNET_POOL: "10.76.0.0/16",
  LEOPARD_SERVE: "0",
};

interface Result {
  code: number;
  out: string;
  err: string;
  ms: number;
}

function leopard(args: string[], env: Record<string, string> = lenv): Result {
  const t = Bun.nanoseconds();
  const r = Bun.spawnSync([join(TOP, "bin/leopard"), ...args], {
    env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  return {
    code: r.exitCode ?? -1,
    out: r.stdout.toString(),
    err: r.stderr.toString(),
    ms: (Bun.nanoseconds() - t) / 1e6,
  };
}

let penv: PodmanEnv | undefined;
function podman(args: string[]): Result {
  const t = Bun.nanoseconds();
  const r = (penv as PodmanEnv).podman("runc", args);
  return { code: r.code, out: r.stdout, err: r.stderr, ms: (Bun.nanoseconds() - t) / 1e6 };
}

function must(what: string, r: Result): Result {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.err.trim().slice(-2000)}`);
  return r;
}

const DOCKERFILE = [
  "ARG BASE=busybox",
  "FROM ${BASE}",
  "ARG WHO=bench",
  "ENV GREETING=hello",
  "WORKDIR /app",
  "COPY files/ ./",
  'RUN echo "$GREETING $WHO" > out.txt && mkdir -p /var/cache/x && cp -r /app /var/cache/x/',
  "COPY one.txt /etc/one.txt",
  "RUN rm /bin/vi && ln -s /app/out.txt /link",
  "USER nobody",
  'CMD ["cat", "/app/out.txt"]',
  "",
].join("\n");
// The 3-layer image for the push: busybox's layer, a COPY's (the context's files), a RUN's.
const PUSHFILE = [
  "ARG BASE=busybox",
  "FROM ${BASE}",
  "COPY files/ /app/",
  "RUN cp -r /app /copy && rm /bin/vi",
  "",
].join("\n");

function writeContext(): string {
  const ctx = join(dir, "ctx");
  const files: Record<string, string> = {
    Dockerfile: DOCKERFILE,
    Pushfile: PUSHFILE,
    "one.txt": "1\n",
    ".dockerignore": "**/*.log\n",
    "files/skip.log": "ignored\n",
  };
  // Some real content: 40 small files and one of 2 MiB (random, so gzip has work to do).
  for (let i = 0; i < 40; i++) files[`files/src/f${i}.txt`] = `file ${i}\n`.repeat(50 + i);
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(dirname(join(ctx, p)), { recursive: true });
    writeFileSync(join(ctx, p), c);
  }
  const big = new Uint8Array(2 << 20);
  for (let o = 0; o < big.length; o += 65536) crypto.getRandomValues(big.subarray(o, o + 65536));
  writeFileSync(join(ctx, "files/blob.bin"), big);
  return ctx;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

const times: Record<string, { leopard: number[]; podman: number[] }> = {
  cold: { leopard: [], podman: [] },
  cached: { leopard: [], podman: [] },
  push: { leopard: [], podman: [] },
};
const registries: RunningRegistry[] = [];

async function main(): Promise<void> {
  // leopard's embedded busybox, and that very image for podman.
  must("leopard run busybox", leopard(["run", "--rm", "--network", "none", "busybox", "true"]));
  const archive = join(dir, "busybox.tar");
  must("leopard save", leopard(["save", "--format", "docker-archive", "-o", archive, "busybox"]));
  penv = makePodmanEnv({ cgroupParent: `${CGROUP_PARENT}/podman`, archive });
  const ctx = writeContext();
  const base = ["--network", "none", "-q"];
  const lbuild = (extra: string[], file = "Dockerfile") =>
    leopard(["build", ...base, "-f", join(ctx, file), ...extra, "-t", "bench/built:1", ctx]);
  const pbuild = (extra: string[], file = "Dockerfile") =>
    podman([
      "build",
      ...base,
      "--cgroup-parent",
      `${CGROUP_PARENT}/podman`,
      "--build-arg",
      `BASE=${IMAGE}`,
      "-f",
      join(ctx, file),
      ...extra,
      "-t",
      "bench/built:1",
      ctx,
    ]);
  // One warm-up of each (page cache, first-run setup of either engine), not counted.
  must("leopard build (warm-up)", lbuild(["--no-cache"]));
  must("podman build (warm-up)", pbuild(["--no-cache"]));
  const lpush = "bench/push:1";
  must(
    "leopard build push image",
    leopard(["build", ...base, "-f", join(ctx, "Pushfile"), "-t", lpush, ctx]),
  );
  must(
    "podman build push image",
    podman([
      "build",
      ...base,
      "--build-arg",
      `BASE=${IMAGE}`,
      "-f",
      join(ctx, "Pushfile"),
      "-t",
      "localhost/bench/push:1",
      ctx,
    ]),
  );
  for (let i = 0; i < N; i++) {
    const order = i % 2 === 0 ? (["leopard", "podman"] as const) : (["podman", "leopard"] as const);
    for (const e of order) {
      const cold = e === "leopard" ? lbuild(["--no-cache"]) : pbuild(["--no-cache"]);
      times["cold"]?.[e].push(must(`${e} build --no-cache`, cold).ms);
      const cached = e === "leopard" ? lbuild([]) : pbuild([]);
      times["cached"]?.[e].push(must(`${e} build (cached)`, cached).ms);
      const reg = await startRegistry();
      registries.push(reg);
      const dest = `${reg.host}/bench/push:${i}`;
      const push =
        e === "leopard"
          ? leopard(["push", lpush, dest])
          : podman(["push", "--tls-verify=false", "localhost/bench/push:1", dest]);
      times["push"]?.[e].push(must(`${e} push`, push).ms);
      await reg.stop();
      registries.pop();
    }
    process.stderr.write(`round ${i + 1}/${N} done\n`);
  }
  const targets: Record<string, number> = { cold: 1.0, cached: 0.3, push: 1.0 };
  const what: Record<string, string> = {
    cold: "build --no-cache (11 steps)",
    cached: "build, every step cached",
    push: "push, 3 layers, empty registry",
  };
  console.log(`bench/build: ${N} rounds, medians in ms (load ${loadavg()})`);
  console.log(
    `${"".padEnd(32)}${"leopard".padStart(10)}${"podman".padStart(10)}${"ratio".padStart(8)}  target`,
  );
  for (const [k, t] of Object.entries(times)) {
    const l = median(t.leopard);
    const p = median(t.podman);
    const r = l / p;
    const mark = r <= (targets[k] ?? 0) ? "met" : "MISSED";
    console.log(
      `${(what[k] ?? k).padEnd(32)}${l.toFixed(0).padStart(10)}${p.toFixed(0).padStart(10)}${`${r.toFixed(2)}x`.padStart(8)}  ≤${targets[k]?.toFixed(1)}x ${mark}`,
    );
  }
  // Where a cold leopard build spends its time: the trace marks of one build.
  const traced = leopard(["build", ...base, "--no-cache", "-f", join(ctx, "Dockerfile"), ctx], {
    ...lenv,
    LEOPARD_TRACE: "1",
  });
  const marks = traced.err.split("\n").filter((l) => l.startsWith("leopard-trace:"));
  if (marks.length > 0) {
    console.log(
      "\none traced cold leopard build (LEOPARD_TRACE=1; the marks are its RUN steps' containers):",
    );
    for (const m of marks) console.log(`  ${m}`);
  }
  console.log(`\nreproduce: bun bench/build.ts ${N}`);
}

function loadavg(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

try {
  await main();
} finally {
  for (const r of registries) await r.stop();
  penv?.cleanup(["runc"]);
  removeCgroups(CGROUP_PARENT);
  // leopard's namespace directory is a mount of its own (as /run/netns is): unmounted first.
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n").reverse()) {
    const target = line.split(" ")[4];
    if (target?.startsWith(`${dir}/`)) Bun.spawnSync(["umount", "-l", target]);
  }
  rmSync(dir, { recursive: true, force: true });
}
