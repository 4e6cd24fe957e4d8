// bench/pull: `leopard pull` against `podman pull` of the same 3-layer gzip image (about 186 MB
// uncompressed, see bench/image.ts) from a docker-registry on 127.0.0.1, alternating in one run.
// Each pull gets fresh, empty storage (leopard --storage; podman --root/--runroot/--tmpdir with
// the overlay driver), so neither has any layer already. Times are wall clock of the whole
// command, process start included; `sync` runs (untimed) before each. leopard unpacks each layer
// while it downloads, three layers at a time, on worker threads (one per core, at most three;
// served, the threads the serve worker started when it warmed up, see unpack-thread.ts),
// inflating gzip in-process.
// Prints medians and the ratio leopard/podman time (target <= 1.0). leopard runs direct
// (LEOPARD_SERVE=0) and served by a `leopard serve` this bench starts on a private socket
// (LEOPARD_SERVE=1). `bun bench/pull.ts [N]` (default 5).
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireTools, skopeo, startRegistry } from "../test/image/harness.ts";
import { benchImage, MB, median, seconds, sync, TOP } from "./image.ts";

const N = Number(process.argv[2] ?? 5);
requireTools("docker-registry", "skopeo", "podman");
const img = await benchImage(console.log);
const work = mkdtempSync(join(tmpdir(), "leopard-bench-pull-"));
const LEOPARD = join(TOP, "bin/leopard");

const SOCKET = join(work, "leopard.sock");
const modeEnv = (mode: "0" | "1") => ({ ...process.env, LEOPARD_SERVE: mode, LEOPARD_SERVE_DIR: work });

function run(argv: string[], env: Record<string, string | undefined> = process.env): void {
  const r = Bun.spawnSync(argv, { stdout: "ignore", stderr: "pipe", env });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} failed (${r.exitCode}): ${r.stderr.toString()}`);
}

/** Mount points under dir, deepest first (octal escapes in mountinfo decoded). */
function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

function removeTree(dir: string): void {
  for (const m of mountsUnder(dir)) Bun.spawnSync(["umount", "-l", m]);
  rmSync(dir, { recursive: true, force: true });
}

function podmanArgs(dir: string): string[] {
  return [
    "podman",
    "--root",
    `${dir}/root`,
    "--runroot",
    `${dir}/runroot`,
    "--tmpdir",
    `${dir}/tmp`,
    "--storage-driver",
    "overlay",
  ];
}

// Every pull's storage stays until the end of the run (about 0.3 GB each): removing it between
// pulls made the next pull's time depend on the kernel more than on the tool. On this machine's
// ext4 (no journal) the inode allocator skips inodes freed in the last 60 s (360 s while their
// inode table block is dirty), scanning past each one from the start of the group for every new
// file: a pull right after a removal spent over half its time in find_inode_bit and
// recently_deleted (perf), for podman and leopard alike, by however long ago the removal was.
const podmanDirs: string[] = [];

function leopardOnce(ref: string, i: number, mode: "0" | "1"): number {
  const dir = join(work, `leopard-${mode}-${i}`);
  sync();
  return seconds(() => run([LEOPARD, "--storage", dir, "pull", "--tls-verify=false", ref], modeEnv(mode)));
}

function podmanOnce(ref: string, i: number): number {
  const dir = join(work, `podman-${i}`);
  podmanDirs.push(dir);
  sync();
  return seconds(() => run([...podmanArgs(dir), "pull", "--tls-verify=false", ref]));
}

const registry = await startRegistry();
const server = Bun.spawn([LEOPARD, "serve", "--socket", SOCKET, "--workers", "2"], {
  stdout: "ignore",
  stderr: "inherit",
});
const times = { leopard: [] as number[], served: [] as number[], podman: [] as number[] };
try {
  for (
    let t = 0;
    Bun.spawnSync([LEOPARD, "version"], { env: modeEnv("1"), stdout: "ignore" }).exitCode !== 0;
    t++
  ) {
    if (t > 300)
      throw new Error(
        "the bench's leopard serve never answered (LEOPARD_SERVE=1 bin/leopard version says why: a bundle older than src/ needs make)",
      );
    Bun.sleepSync(100);
  }
  const ref = `${registry.host}/bench:1`;
  skopeo("copy", "--dest-tls-verify=false", `oci:${img.layout}:${img.tag}`, `docker://${ref}`);
  // One untimed pull each: registry, page cache and binaries warm for all alike.
  const once = {
    leopard: (i: number) => leopardOnce(ref, i, "0"),
    served: (i: number) => leopardOnce(ref, i, "1"),
    podman: (i: number) => podmanOnce(ref, i),
  };
  const names = Object.keys(once) as (keyof typeof once)[];
  for (const n of names) once[n](-1);
  for (let i = 0; i < N; i++) {
    // Alternate the order so drift in the machine's state affects all alike.
    for (const n of i % 2 === 0 ? names : [...names].reverse()) times[n].push(once[n](i));
  }
} finally {
  server.kill("SIGTERM");
  await server.exited;
  await registry.stop();
  for (const dir of podmanDirs)
    if (existsSync(dir))
      Bun.spawnSync([...podmanArgs(dir), "system", "reset", "-f"], { stdout: "ignore", stderr: "ignore" });
  removeTree(work);
}

const left = mountsUnder(work);
if (left.length > 0) console.error(`warning: mounts left behind: ${left.join(" ")}`);
console.log(
  `image: ${img.layers.length} gzip layers, ${(img.size / MB).toFixed(1)} MB uncompressed, ` +
    `${(img.layers.reduce((a, l) => a + l.compressed, 0) / MB).toFixed(1)} MB compressed; ` +
    `registry on 127.0.0.1; N=${N}`,
);
for (const [name, xs] of Object.entries(times)) {
  console.log(
    `${name.padEnd(8)} median ${median(xs).toFixed(3)} s  (runs: ${xs.map((x) => x.toFixed(2)).join(" ")})`,
  );
}
console.log(
  `ratio leopard/podman time: direct ${(median(times.leopard) / median(times.podman)).toFixed(2)}, served ${(median(times.served) / median(times.podman)).toFixed(2)} (target <= 1.0)`,
);
