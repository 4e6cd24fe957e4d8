import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
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

describe("overlay-userns (the rootless engine's: the runtime mounts it in the container's user namespace)", () => {
  // A store unpacked as a rootless one is (user.overlay.* marks, no chown), made by root here.
  const userStore = () => {
    store.close();
    store = new Store(`${root}/s`, { rootless: true });
  };
  const mount = (data: string, target: string) => {
    const r = Bun.spawnSync(["mount", "-t", "overlay", "overlay", "-o", `${data},userxattr`, target], {
      stderr: "pipe",
    });
    if (r.exitCode !== 0) throw new Error(`mount failed: ${r.stderr.toString()}`);
  };

  test("makes upper, work and an empty mount point; the annotation, mounted with userxattr, is the copy's tree; cleanup removes it all", async () => {
    userStore();
    await twoLayers();
    const u = await prepareRootfs(store, "two:1", "u1", { usernsOverlay: true });
    const c = await prepareRootfs(store, "two:1", "c1", { mode: "copy" });
    const dir = `${store.root}/containers/u1`;
    try {
      expect(u.kind).toBe("overlay-userns");
      expect(u.path).toBe(`${dir}/merged`);
      expect(u.overlay).toMatch(
        new RegExp(
          `^lowerdir=${store.root}/snapshots/[0-9a-f]{64}/fs:${store.root}/snapshots/[0-9a-f]{64}/fs,upperdir=${dir}/upper,workdir=${dir}/work$`,
        ),
      );
      expect(describeTree(u.path)).toEqual({});
      mount(u.overlay as string, u.path);
      try {
        expect(describeTree(u.path)).toEqual(describeTree(c.path));
        expect(existsSync(`${u.path}/etc/gone`)).toBe(false);
      } finally {
        Bun.spawnSync(["umount", u.path]);
      }
    } finally {
      await u.cleanup();
      await c.cleanup();
    }
    expect(existsSync(dir)).toBe(false);
    expect(store.meta.rootfs("u1")).toBeUndefined();
  });

  test("where the kept probe says the kernel refuses, fuse-overlayfs is chosen (its directories made, nothing mounted yet), or the copy when asked for; the reason is told", async () => {
    userStore();
    await twoLayers();
    const kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
    const dev = statSync(store.root).dev;
    writeFileSync(
      `${store.root}/overlay-userns.json`,
      JSON.stringify({ kernel, dev, refused: "EPERM here" }),
    );
    const why: string[] = [];
    // (fuse-overlayfs is installed here, apt-deps; root may open /dev/fuse whatever its mode)
    const f = await prepareRootfs(store, "two:1", "f0", {
      usernsOverlay: true,
      onFallback: (w) => why.push(w),
    });
    try {
      expect(f.kind).toBe("fuse-overlayfs");
      expect(why).toEqual(["root filesystem on fuse-overlayfs, not overlaid by the kernel: EPERM here"]);
      expect(readdirSync(f.path.slice(0, f.path.lastIndexOf("/"))).sort()).toEqual([
        "merged",
        "upper",
        "work",
      ]);
      expect(readdirSync(f.path)).toEqual([]);
    } finally {
      await f.cleanup();
    }
    why.length = 0;
    const r = await prepareRootfs(store, "two:1", "f1", {
      usernsOverlay: true,
      rootless: "copy",
      onFallback: (w) => why.push(w),
    });
    try {
      expect(r.kind).toBe("copy");
      expect(why).toEqual(["root filesystem copied, as LEOPARD_ROOTLESS_ROOTFS=copy asks"]);
      expect(readFileSync(`${r.path}/etc/keep`, "utf8")).toBe("changed");
    } finally {
      await r.cleanup();
    }
  });

  test("without the caller asking (build, or a root store), nothing changes", async () => {
    userStore();
    await twoLayers();
    const r = await prepareRootfs(store, "two:1", "n1");
    await r.cleanup();
    // Root here: the host-side overlay (an ordinary user's would fail and copy).
    expect(r.kind).toBe("overlay");
    expect(r.overlay).toBeUndefined();
  });
});
