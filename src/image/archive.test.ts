import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { BUSYBOX_TAG, buildBusybox } from "./busybox.ts";
import { importTarball } from "./import.ts";
import { ensureImage, runConfig } from "./index.ts";
import { load } from "./load.ts";
import { inspectImage, pruneImages, removeImage, tagImage } from "./manage.ts";
import { save } from "./save.ts";
import { Store } from "./store.ts";
import { tarBytes } from "./tar-write.ts";

let root: string;
let store: Store;
beforeEach(() => {
  root = mkdtempSync(`${tmpdir()}/leopard-img-archive-`);
  store = new Store(`${root}/a`);
});
afterEach(() => {
  store.close();
  rmSync(root, { recursive: true, force: true });
});

const text = (s: string) => new TextEncoder().encode(s);

describe("embedded busybox", () => {
  test("is built offline from the system busybox, with applet links", async () => {
    const img = await buildBusybox(store);
    const fs = store.snapshotPath(img.chain[0]!);
    expect(lstatSync(`${fs}/bin/busybox`).isFile()).toBe(true);
    expect(readlinkSync(`${fs}/bin/sh`)).toBe("/bin/busybox");
    expect(lstatSync(`${fs}/tmp`).mode & 0o7777).toBe(0o1777);
    expect(store.resolve("busybox").id).toBe(img.id);
  });

  test("is the same image every time it is built", async () => {
    const a = await buildBusybox(store);
    const other = new Store(`${root}/b`);
    try {
      const b = await buildBusybox(other);
      expect(b.id).toBe(a.id);
      expect(b.manifestDigest).toBe(a.manifestDigest);
    } finally {
      other.close();
    }
  });
});

describe("save and load", () => {
  for (const format of ["oci-archive", "docker-archive"] as const) {
    test(`an image survives a round trip through ${format}`, async () => {
      const img = await buildBusybox(store);
      await save(store, [{ image: img, tags: [BUSYBOX_TAG] }], format, `${root}/out.tar`);
      expect(existsSync(`${root}/out.tar.tmp-${process.pid}`)).toBe(false);
      const other = new Store(`${root}/b`);
      try {
        const loaded = await load(other, `${root}/out.tar`);
        expect(loaded.length).toBe(1);
        expect(loaded[0]?.image.id).toBe(img.id);
        expect(loaded[0]?.tags).toEqual([BUSYBOX_TAG]);
        if (format === "oci-archive") expect(loaded[0]?.image.manifestDigest).toBe(img.manifestDigest);
        expect(other.resolve("busybox:latest").chain).toEqual(img.chain);
        expect(readlinkSync(`${other.snapshotPath(img.chain[0]!)}/bin/ls`)).toBe("/bin/busybox");
      } finally {
        other.close();
      }
    });
  }

  test("a docker archive whose layer does not match the config is refused", async () => {
    const layer = await tarBytes([{ name: "a", type: "file", data: text("a") }]);
    const config = JSON.stringify({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [`sha256:${"0".repeat(64)}`] },
    });
    const archive = await tarBytes([
      { name: "l/layer.tar", type: "file", data: layer },
      { name: "c.json", type: "file", data: text(config) },
      {
        name: "manifest.json",
        type: "file",
        data: text(JSON.stringify([{ Config: "c.json", RepoTags: ["x:1"], Layers: ["l/layer.tar"] }])),
      },
    ]);
    writeFileSync(`${root}/bad.tar`, archive);
    await expect(load(store, `${root}/bad.tar`)).rejects.toThrow('layer "l/layer.tar" has DiffID');
    expect(store.meta.images()).toEqual([]);
  });

  test("an OCI archive pointing at a missing blob is refused", async () => {
    const img = await buildBusybox(store);
    const archive = await tarBytes([
      { name: "oci-layout", type: "file", data: text('{"imageLayoutVersion":"1.0.0"}') },
      {
        name: "index.json",
        type: "file",
        data: text(
          JSON.stringify({
            schemaVersion: 2,
            manifests: [
              {
                mediaType: "application/vnd.oci.image.manifest.v1+json",
                digest: img.manifestDigest,
                size: 10,
              },
            ],
          }),
        ),
      },
    ]);
    writeFileSync(`${root}/missing.tar`, archive);
    const other = new Store(`${root}/b`);
    try {
      await expect(load(other, `${root}/missing.tar`)).rejects.toThrow(
        `the archive lacks the blob "${img.manifestDigest}"`,
      );
    } finally {
      other.close();
    }
  });
});

describe("archives cannot reach outside themselves", () => {
  test("a docker archive whose layer is a symlink to a host file is refused", async () => {
    const config = JSON.stringify({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [`sha256:${"1".repeat(64)}`] },
    });
    const archive = await tarBytes([
      { name: "c.json", type: "file", data: text(config) },
      { name: "l.tar", type: "symlink", linkname: "/etc/passwd" },
      {
        name: "manifest.json",
        type: "file",
        data: text(JSON.stringify([{ Config: "c.json", RepoTags: ["x:1"], Layers: ["l.tar"] }])),
      },
    ]);
    writeFileSync(`${root}/link.tar`, archive);
    await expect(load(store, `${root}/link.tar`)).rejects.toThrow('archive path "l.tar" is a symlink');
    expect(store.meta.images()).toEqual([]);
  });
});

describe("tag, rmi, prune, inspect", () => {
  async function imported(name: string, content: string) {
    writeFileSync(`${root}/${name}.tar`, await tarBytes([{ name: "f", type: "file", data: text(content) }]));
    return importTarball(store, `${root}/${name}.tar`, { tags: [`docker.io/library/${name}:latest`] });
  }

  test("rmi of one of two tags only untags; rmi of the last removes the image and its data", async () => {
    const img = await imported("one", "1");
    tagImage(store, "one", "two:v2");
    expect(store.meta.tagsOf(img.id)).toEqual(["docker.io/library/one:latest", "docker.io/library/two:v2"]);
    expect(await removeImage(store, "one", false)).toEqual({ untagged: ["one:latest"], deleted: [] });
    const r = await removeImage(store, "two:v2", false);
    expect(r.deleted).toEqual([img.id]);
    expect(store.find(img.id)).toBeUndefined();
    expect(existsSync(store.snapshotPath(img.chain[0]!))).toBe(false);
    expect(store.hasBlob(img.layers[0]!.digest)).toBe(false);
  });

  test("rmi -f of one of two tags only untags, as docker: the other tag and the image's data stay", async () => {
    const img = await imported("forced", "f");
    tagImage(store, "forced", "kept:v1");
    expect(await removeImage(store, "forced:latest", true)).toEqual({
      untagged: ["forced:latest"],
      deleted: [],
    });
    expect(store.meta.tagsOf(img.id)).toEqual(["docker.io/library/kept:v1"]);
    expect(store.find("kept:v1")?.id).toBe(img.id);
    expect(store.hasBlob(img.layers[0]!.digest)).toBe(true);
  });

  test("rmi refuses an image a container uses unless forced", async () => {
    const img = await imported("used", "u");
    store.meta.addRootfs("c1", img.id, "/x", "overlay");
    await expect(removeImage(store, "used", false)).rejects.toThrow(
      'image "used" is used by the container "c1"',
    );
    expect((await removeImage(store, "used", true)).deleted).toEqual([img.id]);
  });

  test("rmi by id refuses an image with several tags", async () => {
    const img = await imported("multi", "m");
    tagImage(store, "multi", "multi:2");
    await expect(removeImage(store, img.id, false)).rejects.toThrow("is referenced by 2 tags");
  });

  test("prune removes untagged images; prune --all every unused one", async () => {
    const a = await imported("a", "a");
    const b = await imported("b", "b");
    store.meta.untag("docker.io/library/a:latest");
    expect((await pruneImages(store, false)).deleted).toEqual([a.id]);
    expect(store.find(b.id)).toBeDefined();
    expect((await pruneImages(store, true)).deleted).toEqual([b.id]);
    expect(store.meta.images()).toEqual([]);
  });

  test("the engine finds local images without a registry and reads their run configuration", async () => {
    const img = await imported("local", "l");
    expect((await ensureImage(store, "local")).id).toBe(img.id);
    const rc = runConfig(store, img);
    expect(rc.cmd).toEqual(["/bin/sh"]);
    expect(rc.env[0]).toStartWith("PATH=");
    expect(rc.entrypoint).toEqual([]);
  });

  test("inspect describes config, tags and layers", async () => {
    const img = await imported("insp", "i");
    const j = inspectImage(store, img);
    expect(j["Id"]).toBe(img.id);
    expect(j["RepoTags"]).toEqual(["insp:latest"]);
    expect((j["RootFS"] as { Layers: string[] }).Layers).toEqual([img.layers[0]!.diffId]);
    expect((j["Config"] as { Cmd: string[] }).Cmd).toEqual(["/bin/sh"]);
  });
});
