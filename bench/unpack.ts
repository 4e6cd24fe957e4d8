// bench/unpack: leopard's layer unpacker against GNU tar on the same 3-layer gzip image (about
// 186 MB uncompressed, see bench/image.ts), alternating in one run. leopard goes through
// Store.ensureSnapshot, what `leopard pull` and `leopard load` call per layer (unpack, DiffID
// check, snapshot rename and record), layers one after the other into a fresh store. GNU tar runs
// `tar -xzf layer -C dir` per layer, each into its own empty directory (as root it also keeps
// owners and modes). tar does not turn whiteouts into overlay char devices; there are only three,
// so it makes no difference to the timing. tar -z decompresses in a separate gzip process, i.e.
// on the second core; leopard inflates in-process (node:zlib), on the thread that writes the files.
// Blobs are in the page cache for both and `sync` runs (untimed) before each timing. Every tree
// stays until the end of the run: on this machine's ext4 (no journal) files created within a
// minute or more of a removal cost far more (see bench/pull.ts), whichever tool made them.
// Prints medians, throughput and leopard/tar throughput (target >= 0.8).
// `bun bench/unpack.ts [N]` (default 5).
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chainIds, type Digest } from "../src/image/digest.ts";
import { Store } from "../src/image/store.ts";
import { benchImage, MB, median, seconds, secondsAsync, sh, sync } from "./image.ts";

const N = Number(process.argv[2] ?? 5);
const img = await benchImage(console.log);
const diffIds = img.layers.map((l) => l.diffId);
const chain = chainIds(diffIds);
const work = mkdtempSync(join(tmpdir(), "leopard-bench-unpack-"));

async function leopardOnce(i: number): Promise<number> {
  const root = join(work, `leopard-${i}`);
  const store = new Store(root);
  try {
    // Blobs into the store first (untimed), as a pull would have fetched them.
    for (const l of img.layers) {
      await store.ingest({ digest: l.digest, size: l.compressed }, () => Bun.file(l.blob).stream());
    }
    sync();
    return await secondsAsync(async () => {
      for (const [k, l] of img.layers.entries()) {
        await store.ensureSnapshot(
          chain[k] as Digest,
          k === 0 ? null : (chain[k - 1] as Digest),
          l.diffId,
          l.digest,
        );
      }
    });
  } finally {
    store.close();
  }
}

function tarOnce(i: number): number {
  const root = join(work, `tar-${i}`);
  const dirs = img.layers.map((_, k) => join(root, `layer${k}`));
  for (const d of dirs) mkdirSync(d, { recursive: true });
  sync();
  return seconds(() => {
    for (const [k, l] of img.layers.entries()) sh(["tar", "-xzf", l.blob, "-C", dirs[k]!]);
  });
}

const times = { leopard: [] as number[], tar: [] as number[] };
try {
  // One untimed round each to warm the page cache and the JIT alike.
  await leopardOnce(-1);
  tarOnce(-1);
  for (let i = 0; i < N; i++) {
    // Alternate which goes first so drift in the machine's state affects both alike.
    if (i % 2 === 0) {
      times.leopard.push(await leopardOnce(i));
      times.tar.push(tarOnce(i));
    } else {
      times.tar.push(tarOnce(i));
      times.leopard.push(await leopardOnce(i));
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const size = img.size / MB;
console.log(
  `image: ${img.layers.length} gzip layers, ${size.toFixed(1)} MB uncompressed, ` +
    `${(img.layers.reduce((a, l) => a + l.compressed, 0) / MB).toFixed(1)} MB compressed; N=${N}`,
);
const tput: Record<string, number> = {};
for (const [name, xs] of Object.entries(times)) {
  const m = median(xs);
  tput[name] = size / m;
  console.log(
    `${name.padEnd(8)} median ${m.toFixed(3)} s  ${(size / m).toFixed(1)} MB/s  ` +
      `(runs: ${xs.map((x) => x.toFixed(2)).join(" ")})`,
  );
}
console.log(`ratio leopard/tar throughput: ${(tput["leopard"]! / tput["tar"]!).toFixed(2)} (target >= 0.8)`);
