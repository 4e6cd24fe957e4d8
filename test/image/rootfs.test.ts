import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createImage } from "../../src/image/commit.ts";
import { sha256 } from "../../src/image/digest.ts";
import { MT } from "../../src/image/oci.ts";
import { prepareRootfs } from "../../src/image/rootfs.ts";
import { Store } from "../../src/image/store.ts";
import { type TarEntry, tarBytes } from "../../src/image/tar-write.ts";
import { describeTree } from "../../src/image/testing.ts";

let root: string;
let store: Store;
beforeEach(() => {
  root = mkdtempSync(`${tmpdir()}/leopard-img-rootfs-`);
  store = new Store(`${root}/s`);
});
afterEach(() => {
  store.close();
  rmSync(root, { recursive: true, force: true });
});

const text = (s: string) => new TextEncoder().encode(s);

async function layer(entries: TarEntry[]) {
  const tar = await tarBytes(entries);
  const b = await store.ingest(undefined, async function* () {
    yield tar;
  });
  return { digest: b.digest, mediaType: MT.ociLayer, size: b.size, diffId: sha256(tar) };
}

async function twoLayers() {
  const l1 = await layer([
    { name: "etc/keep", type: "file", data: text("keep") },
    { name: "etc/gone", type: "file", data: text("gone") },
    { name: "var/cache/old", type: "file", data: text("old") },
    { name: "bin/a", type: "file", data: text("A"), mode: 0o755 },
    { name: "bin/b", type: "link", linkname: "bin/a" },
    { name: "lib", type: "symlink", linkname: "usr/lib" },
  ]);
  const l2 = await layer([
    { name: "etc/.wh.gone", type: "file" },
    { name: "var/cache/.wh..wh..opq", type: "file" },
    { name: "var/cache/new", type: "file", data: text("new") },
    { name: "etc/keep", type: "file", data: text("changed"), mode: 0o600 },
  ]);
  return createImage(
    store,
    [l1, l2],
    { architecture: "amd64", os: "linux" },
    { tags: ["docker.io/library/two:1"] },
  );
}

describe("prepareRootfs", () => {
  test("an overlay mount shows the layers stacked, with deletions and opaque directories applied", async () => {
    await twoLayers();
    const r = await prepareRootfs(store, "two:1", "c1", { mode: "overlay" });
    try {
      expect(r.kind).toBe("overlay");
      expect(readFileSync(`${r.path}/etc/keep`, "utf8")).toBe("changed");
      expect(existsSync(`${r.path}/etc/gone`)).toBe(false);
      expect(existsSync(`${r.path}/var/cache/old`)).toBe(false);
      expect(readFileSync(`${r.path}/var/cache/new`, "utf8")).toBe("new");
      writeFileSync(`${r.path}/written`, "w");
      expect(readFileSync(`${root}/s/containers/c1/upper/written`, "utf8")).toBe("w");
      expect(store.meta.usersOf(store.resolve("two:1").id)).toEqual(["c1"]);
    } finally {
      await r.cleanup();
    }
    expect(existsSync(`${root}/s/containers/c1`)).toBe(false);
    expect(store.meta.rootfs("c1")).toBeUndefined();
  });

  test("the copy fallback produces the same tree as the overlay mount", async () => {
    await twoLayers();
    const o = await prepareRootfs(store, "two:1", "o1", { mode: "overlay" });
    const c = await prepareRootfs(store, "two:1", "c2", { mode: "copy" });
    try {
      expect(c.kind).toBe("copy");
      const tree = describeTree(c.path);
      expect(tree).toEqual(describeTree(o.path));
      expect(tree["bin/b"]).toContain("hardlink-of bin/a");
      expect(tree["etc/gone"]).toBeUndefined();
    } finally {
      await o.cleanup();
      await c.cleanup();
    }
  });

  test("an image with more layers than one mount's options can name still mounts", async () => {
    const layers = [];
    for (let i = 0; i < 60; i++)
      layers.push(await layer([{ name: `f${i}`, type: "file", data: text(String(i)) }]));
    await createImage(
      store,
      layers,
      { architecture: "amd64", os: "linux" },
      { tags: ["docker.io/library/many:1"] },
    );
    const r = await prepareRootfs(store, "many:1", "many", { mode: "overlay" });
    try {
      expect(r.kind).toBe("overlay");
      expect(readFileSync(`${r.path}/f0`, "utf8")).toBe("0");
      expect(readFileSync(`${r.path}/f59`, "utf8")).toBe("59");
    } finally {
      await r.cleanup();
    }
  });

  test("a second root filesystem for one container id is refused", async () => {
    await twoLayers();
    const r = await prepareRootfs(store, "two:1", "dup", { mode: "copy" });
    try {
      await expect(prepareRootfs(store, "two:1", "dup")).rejects.toThrow(
        'container "dup" already has a root filesystem',
      );
      await expect(prepareRootfs(store, "two:1", "../x")).rejects.toThrow('container id "../x" is not valid');
    } finally {
      await r.cleanup();
    }
  });
});
