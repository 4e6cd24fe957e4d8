// Engine test harness: the real bin/leopard with its storage and run directories in a temp dir
// shared by the engine test files of one `bun test` run (the embedded busybox image is built
// once), containers' cgroups under /leopard-test, and checks that nothing is left behind.
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const TOP = join(import.meta.dir, "../..");
export const LEOPARD = join(TOP, "bin/leopard");
export const CGROUP_PARENT = `/leopard-test/eng-${process.pid}`;

/** The engine tests' bridges are <prefix>0, <prefix>1 …; removed by test/setup.ts at the end. */
export const BRIDGE_PREFIX = `lpt${process.pid % 100000}b`;

const base = join(tmpdir(), `leopard-engine-test-${process.pid}`);
mkdirSync(base, { recursive: true });
export const STORAGE = join(base, "storage");
export const RUN = join(base, "run");

export const ENV: Record<string, string> = {
  ...(process.env as Record<string, string>),
  LEOPARD_STORAGE: STORAGE,
  LEOPARD_RUN: RUN,
  LEOPARD_CGROUP_PARENT: CGROUP_PARENT,
  // Bridges and subnets of their own, so the tests never meet a real leopard0.
  LEOPARD_BRIDGE_PREFIX: BRIDGE_PREFIX,
  LEOPARD_SUBNET_POOL: "10.77.0.0/16",
};

/** `--format json` output: one JSON object per line, as docker 23+ prints it. */
export function jsonLines<T>(text: string): T[] {
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as T);
}

export interface Result {
  code: number;
  out: string;
  err: string;
}

export async function leopard(
  args: string[],
  opts: { stdin?: string; timeoutMs?: number } = {},
): Promise<Result> {
  const p = Bun.spawn([LEOPARD, ...args], {
    env: ENV,
    stdin: opts.stdin === undefined ? "ignore" : new Blob([opts.stdin]),
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  clearTimeout(timer);
  return { code, out, err };
}

/** Runs leopard and fails the test with its stderr when the exit code differs. */
export async function ok(args: string[], expected = 0): Promise<string> {
  const r = await leopard(args);
  if (r.code !== expected)
    throw new Error(`leopard ${args.join(" ")} exited ${r.code}, wanted ${expected}: ${r.err}`);
  return r.out;
}

/** A scratch directory inside the run's base directory, removed with it at the end (test/setup.ts). */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(base, `${prefix}-`));
}

/** Waits until cond() holds (polling), or throws naming what was awaited. */
export async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

/** What the engine leaves on the host for its containers: dirs, runtime state, mounts, cgroups. */
export function leftovers(): string[] {
  const out: string[] = [];
  const ls = (d: string) => (existsSync(d) ? readdirSync(d) : []);
  for (const c of ls(join(STORAGE, "containers"))) out.push(`container dir ${c}`);
  for (const c of ls(join(RUN, "oci"))) out.push(`runtime state ${c}`);
  for (const c of ls(join(RUN, "exits"))) out.push(`exit file ${c}`);
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const target = line.split(" ")[4] ?? "";
    // <run>/netns is a mount of its own (shared, as /run/netns is): not a container's.
    if ((target.startsWith(STORAGE) || target.startsWith(RUN)) && target !== join(RUN, "netns"))
      out.push(`mount ${target}`);
  }
  for (const ctl of ["memory", "pids", "cpu,cpuacct", "unified"]) {
    const d = `/sys/fs/cgroup/${ctl}${CGROUP_PARENT}`;
    for (const e of ls(d)) if (/^[0-9a-f]{64}$/.test(e)) out.push(`cgroup ${ctl}/${e}`);
  }
  return out;
}

/** Removes every container (rm -f) and volume the tests made. */
export async function removeAll(): Promise<void> {
  const ids = (await leopard(["ps", "-aq", "--no-trunc"])).out.split("\n").filter((x) => x !== "");
  if (ids.length > 0) await leopard(["rm", "-f", "-v", ...ids]);
}

// The directory itself goes at the end of the whole run (test/setup.ts), after every file.
export const BASE = base;
export function removeBase(): void {
  rmSync(base, { recursive: true, force: true });
}

/**
 * `busybox` saved as an OCI archive, its config given `Volumes` at `volumes`, loaded back as
 * `name`: an image that declares volumes, as a Dockerfile's VOLUME does.
 */
export async function imageWithVolumes(name: string, volumes: string[]): Promise<void> {
  const dir = tempDir("img-vol");
  // The embedded busybox is made by the first run that names it (a fresh store has none).
  await ok(["run", "--rm", "--network", "none", "busybox", "true"]);
  await ok(["save", "--format", "oci-archive", "-o", join(dir, "bb.tar"), "busybox"]);
  const layout = join(dir, "layout");
  const x = Bun.spawnSync(["tar", "-xf", join(dir, "bb.tar"), "-C", dir, "--one-top-level=layout"]);
  if (x.exitCode !== 0) throw new Error(`tar: ${x.stderr.toString()}`);
  const blob = (d: string) => join(layout, "blobs", "sha256", d.slice(7));
  const put = (bytes: string) => {
    const d = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    writeFileSync(blob(d), bytes);
    return { digest: d, size: Buffer.byteLength(bytes) };
  };
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
  const manifest = JSON.parse(readFileSync(blob(index.manifests[0].digest), "utf8"));
  const config = JSON.parse(readFileSync(blob(manifest.config.digest), "utf8"));
  config.config.Volumes = Object.fromEntries(volumes.map((v) => [v, {}]));
  manifest.config = { ...manifest.config, ...put(JSON.stringify(config)) };
  const m = put(JSON.stringify(manifest));
  index.manifests = [
    {
      ...index.manifests[0],
      ...m,
      annotations: { "org.opencontainers.image.ref.name": name },
    },
  ];
  writeFileSync(join(layout, "index.json"), JSON.stringify(index));
  await ok(["load", "-i", layout]);
}
