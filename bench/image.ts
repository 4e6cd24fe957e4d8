// The benchmark image shared by bench/unpack and bench/pull: three gzip layers made with GNU tar
// from host files (about 180 MB uncompressed), kept as an OCI layout under build/bench/image so
// it is built once. Layer 1: part of /usr/lib/x86_64-linux-gnu; layer 2: part of /usr/share;
// layer 3: part of /usr/bin plus whiteouts deleting a few files and a directory of layers 1-2.
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { Digest } from "../src/image/digest.ts";
import { buildImage, writeLayout } from "../test/image/harness.ts";

export const TOP = join(import.meta.dir, "..");
export const LAYOUT = join(TOP, "build/bench/image");
export const TAG = "bench";

export interface BenchLayer {
  /** The gzip blob in the layout. */
  blob: string;
  digest: Digest;
  diffId: Digest;
  /** Uncompressed tar size in bytes. */
  size: number;
  compressed: number;
}

export interface BenchImage {
  layout: string;
  tag: string;
  layers: BenchLayer[];
  /** Sum of the layers' uncompressed sizes. */
  size: number;
}

const MB = 1e6;
/** Uncompressed bytes of file data taken from each source directory. */
const PLAN: { dir: string; budget: number }[] = [
  { dir: "usr/lib/x86_64-linux-gnu", budget: 85 * MB },
  { dir: "usr/share", budget: 60 * MB },
  { dir: "usr/bin", budget: 35 * MB },
];

function sh(argv: string[], cwd?: string): string {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", ...(cwd === undefined ? {} : { cwd }) });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} failed (${r.exitCode}): ${r.stderr.toString()}`);
  return r.stdout.toString();
}

/** Apparent size of a tree, not following symlinks. */
function treeSize(p: string): number {
  const st = lstatSync(p);
  if (!st.isDirectory()) return st.isFile() ? st.size : 0;
  let n = 0;
  for (const e of readdirSync(p)) n += treeSize(`${p}/${e}`);
  return n;
}

/** Top-level entries of dir (relative to /), in name order, until the budget is spent. */
function pick(dir: string, budget: number): string[] {
  const out: string[] = [];
  let left = budget;
  for (const e of readdirSync(`/${dir}`).sort()) {
    const s = treeSize(`/${dir}/${e}`);
    if (s > left) continue;
    out.push(`${dir}/${e}`);
    left -= s;
  }
  return out;
}

function isFile(rel: string): boolean {
  const st = lstatSync(`/${rel}`, { throwIfNoEntry: false });
  return st?.isFile() === true;
}

function isDir(rel: string): boolean {
  const st = lstatSync(`/${rel}`, { throwIfNoEntry: false });
  return st?.isDirectory() === true;
}

/** Builds the image unless build/bench/image already holds it. */
export async function benchImage(log: (s: string) => void = () => {}): Promise<BenchImage> {
  const meta = join(LAYOUT, "bench.json");
  if (existsSync(meta)) return JSON.parse(readFileSync(meta, "utf8")) as BenchImage;
  log(`building the benchmark image in ${LAYOUT} (once)...`);
  const work = `${LAYOUT}.tmp`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(`${work}/staging`, { recursive: true });
  const picks = PLAN.map((p) => pick(p.dir, p.budget));
  // Whiteouts in layer 3: two files of layer 1 and a directory of layer 2.
  const goneFiles = picks[0]!.filter(isFile).slice(0, 2);
  const goneDir = picks[1]!.find(isDir);
  const whiteouts = [...goneFiles, ...(goneDir === undefined ? [] : [goneDir])].map((p) => {
    const slash = p.lastIndexOf("/");
    return `${p.slice(0, slash)}/.wh.${p.slice(slash + 1)}`;
  });
  for (const w of whiteouts) {
    mkdirSync(join(work, "staging", w, ".."), { recursive: true });
    writeFileSync(join(work, "staging", w), "");
  }
  const raw: { bytes: Uint8Array; diffId: Digest; size: number }[] = [];
  for (const [i, files] of picks.entries()) {
    const tar = `${work}/layer${i}.tar`;
    const extra = i === 2 ? ["-C", `${work}/staging`, ...whiteouts] : [];
    // PAX like the tars registries carry, without atime/ctime records; owners numeric.
    sh([
      "tar",
      "--create",
      "--file",
      tar,
      "--format=posix",
      "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
      "--numeric-owner",
      "--sort=name",
      "-C",
      "/",
      ...files,
      ...extra,
    ]);
    const diffId = `sha256:${sh(["sha256sum", tar]).split(" ")[0]}` as Digest;
    const size = lstatSync(tar).size;
    sh(["gzip", "-n", "-6", tar]);
    raw.push({ bytes: readFileSync(`${tar}.gz`), diffId, size });
    rmSync(`${tar}.gz`);
  }
  const img = await buildImage(
    work,
    raw.map((r) => ({ entries: [], raw: { bytes: r.bytes, diffId: r.diffId } })),
  );
  writeLayout(work, [{ tag: TAG, images: [img] }]);
  const manifest = JSON.parse(new TextDecoder().decode(img.manifest)) as {
    layers: { digest: Digest; size: number }[];
  };
  const layers: BenchLayer[] = manifest.layers.map((l, i) => ({
    blob: join(LAYOUT, "blobs/sha256", l.digest.slice(7)),
    digest: l.digest,
    diffId: raw[i]!.diffId,
    size: raw[i]!.size,
    compressed: l.size,
  }));
  const out: BenchImage = { layout: LAYOUT, tag: TAG, layers, size: layers.reduce((a, l) => a + l.size, 0) };
  rmSync(`${work}/staging`, { recursive: true, force: true });
  writeFileSync(join(work, "bench.json"), JSON.stringify(out, null, 2));
  rmSync(LAYOUT, { recursive: true, force: true });
  renameSync(work, LAYOUT);
  log(
    `  ${layers.length} layers, ${(out.size / MB).toFixed(1)} MB uncompressed, ` +
      `${(layers.reduce((a, l) => a + l.compressed, 0) / MB).toFixed(1)} MB gzip; whiteouts: ${whiteouts.join(", ")}`,
  );
  return out;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function seconds(f: () => void): number {
  const t = Bun.nanoseconds();
  f();
  return (Bun.nanoseconds() - t) / 1e9;
}

export async function secondsAsync(f: () => Promise<void>): Promise<number> {
  const t = Bun.nanoseconds();
  await f();
  return (Bun.nanoseconds() - t) / 1e9;
}

/** Flushes dirty pages so one contender's writeback does not land in the other's timing. */
export function sync(): void {
  sh(["sync"]);
}

export { MB, sh };
