import { afterEach, beforeEach, describe, expect, test } from "bun:test";
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
import { sha256 } from "./digest.ts";
import { importTarball } from "./import.ts";
import { Store } from "./store.ts";
import { tarBytes } from "./tar-write.ts";

let root: string;
let store: Store;
beforeEach(() => {
  root = mkdtempSync(`${tmpdir()}/leopard-img-store-`);
  store = new Store(`${root}/store`);
});
afterEach(() => {
  store.close();
  rmSync(root, { recursive: true, force: true });
});

async function* chunks(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) {
    await Bun.sleep(1);
    yield p;
  }
}

const text = (s: string) => new TextEncoder().encode(s);

describe("blobs", () => {
  test("a blob becomes visible only once its digest matched", async () => {
    const data = text("hello blob");
    const d = sha256(data);
    const r = await store.ingest({ digest: d, size: data.length }, () =>
      chunks(data.subarray(0, 3), data.subarray(3)),
    );
    expect(r.fetched).toBe(true);
    expect(readFileSync(store.blobPath(d), "utf8")).toBe("hello blob");
  });

  test("a blob whose bytes do not match its digest is refused and leaves nothing behind", async () => {
    const d = sha256("expected");
    await expect(store.ingest({ digest: d }, () => chunks(text("something else")))).rejects.toThrow(
      `blob "${d}" has the wrong content`,
    );
    expect(store.hasBlob(d)).toBe(false);
    expect(readdirSync(`${root}/store/tmp`)).toEqual([]);
  });

  test("a truncated blob is refused by its size", async () => {
    const data = text("0123456789");
    const d = sha256(data);
    await expect(store.ingest({ digest: d, size: 10 }, () => chunks(data.subarray(0, 4)))).rejects.toThrow(
      "is 4 bytes where 10 were expected",
    );
    await expect(store.ingest({ digest: d, size: 4 }, () => chunks(data))).rejects.toThrow(
      "larger than the 4 bytes",
    );
    expect(store.hasBlob(d)).toBe(false);
  });

  test("concurrent ingests of one digest fetch it once", async () => {
    const data = text("shared");
    const d = sha256(data);
    let opened = 0;
    const open = () => {
      opened++;
      return chunks(data);
    };
    const rs = await Promise.all([store.ingest({ digest: d }, open), store.ingest({ digest: d }, open)]);
    expect(opened).toBe(1);
    expect(rs.filter((r) => r.fetched).length).toBe(1);
    await store.ingest({ digest: d }, open);
    expect(opened).toBe(1);
  });

  test("two processes ingesting one digest download it once", async () => {
    const data = "x".repeat(100000);
    const d = sha256(data);
    const script = `
      import { Store } from ${JSON.stringify(`${import.meta.dir}/store.ts`)};
      const s = new Store(process.argv[2]);
      async function* slow() { for (let i = 0; i < 10; i++) { await Bun.sleep(20); yield new TextEncoder().encode(${JSON.stringify(data)}.slice(i * 10000, (i + 1) * 10000)); } }
      const r = await s.ingest({ digest: ${JSON.stringify(d)} }, slow);
      console.log(r.fetched ? "fetched" : "reused");`;
    writeFileSync(`${root}/ingest.ts`, script);
    const run = () =>
      Bun.spawn([process.execPath, `${root}/ingest.ts`, `${root}/store`], {
        stdout: "pipe",
        stderr: "inherit",
      });
    const ps = [run(), run()];
    const outs = await Promise.all(ps.map(async (p) => (await new Response(p.stdout).text()).trim()));
    expect(outs.sort()).toEqual(["fetched", "reused"]);
    expect(readFileSync(store.blobPath(d), "utf8")).toBe(data);
  });
});

describe("import and collection", () => {
  test("a rootfs tarball becomes a one-layer image whose snapshot holds the files", async () => {
    const tar = await tarBytes([
      { name: "etc/os-release", type: "file", data: text("ID=test\n") },
      { name: "bin/sh", type: "file", data: text("#!"), mode: 0o755 },
    ]);
    writeFileSync(`${root}/rootfs.tar`, tar);
    const img = await importTarball(store, `${root}/rootfs.tar`, { tags: ["docker.io/library/t:1"] });
    expect(img.layers.length).toBe(1);
    expect(img.chain[0]).toBe(sha256(tar));
    expect(readFileSync(`${store.snapshotPath(img.chain[0]!)}/etc/os-release`, "utf8")).toBe("ID=test\n");
    expect(store.resolve("t:1").id).toBe(img.id);
    expect(store.resolve(img.id.slice(7, 19)).id).toBe(img.id);
    expect(store.meta.snapshot(img.chain[0]!)?.refs).toBe(1);
  });

  for (const [ext, cmd] of [
    ["tar.gz", ["gzip", "-c"]],
    ["tar.xz", ["xz", "-c"]],
    ["tar.zst", ["zstd", "-q", "-c"]],
  ] as const) {
    test(`a .${ext} tarball imports to the same content`, async () => {
      const tar = await tarBytes([{ name: "hello", type: "file", data: text("world") }]);
      writeFileSync(`${root}/r.tar`, tar);
      const p = Bun.spawnSync([...cmd, `${root}/r.tar`]);
      expect(p.exitCode).toBe(0);
      writeFileSync(`${root}/r.${ext}`, p.stdout);
      const img = await importTarball(store, `${root}/r.${ext}`, { tags: [] });
      expect(img.layers[0]?.diffId).toBe(sha256(tar));
      expect(readFileSync(`${store.snapshotPath(img.chain[0]!)}/hello`, "utf8")).toBe("world");
    });
  }

  test("a tarball with a hostile entry is refused and leaves no snapshot behind", async () => {
    writeFileSync(`${root}/bad.tar`, await tarBytes([{ name: "../evil", type: "file", data: text("x") }]));
    await expect(importTarball(store, `${root}/bad.tar`, { tags: ["bad:1"] })).rejects.toThrow(
      'layer entry "../evil" contains ".."',
    );
    expect(readdirSync(`${root}/store/snapshots`)).toEqual([]);
    expect(readdirSync(`${root}/store/tmp`)).toEqual([]);
    expect(readdirSync(`${root}/store/blobs/sha256`)).toEqual([]);
    expect(store.meta.images()).toEqual([]);
  });

  test("collection removes what dead processes left in tmp, not what live ones are writing", async () => {
    const dead = Bun.spawnSync(["true"]).pid;
    mkdirSync(`${root}/store/tmp/snap-${dead}-abc/fs`, { recursive: true });
    writeFileSync(`${root}/store/tmp/blob-${process.pid}-def`, "mine");
    await store.collect();
    expect(readdirSync(`${root}/store/tmp`)).toEqual([`blob-${process.pid}-def`]);
  });

  test("collection removes blobs and snapshots of deleted images only", async () => {
    writeFileSync(`${root}/a.tar`, await tarBytes([{ name: "a", type: "file", data: text("a") }]));
    writeFileSync(`${root}/b.tar`, await tarBytes([{ name: "b", type: "file", data: text("b") }]));
    const a = await importTarball(store, `${root}/a.tar`, { tags: ["a:1"] });
    const b = await importTarball(store, `${root}/b.tar`, { tags: ["b:1"] });
    store.meta.deleteImage(a.id);
    const r = await store.collect();
    expect(r.snapshots).toBe(1);
    expect(r.blobs).toBe(3); // layer, config, manifest
    expect(existsSync(store.snapshotPath(a.chain[0]!))).toBe(false);
    expect(existsSync(store.snapshotPath(b.chain[0]!))).toBe(true);
    expect(store.hasBlob(b.manifestDigest)).toBe(true);
  });
});
