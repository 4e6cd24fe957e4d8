// `leopard load` reading host files through an archive: a symlink inside the archive (or inside
// an OCI layout directory) in any component of a path the archive names — manifest.json's Config
// and Layers, index.json, blobs/sha256/<hex> — used to be followed, only the last component was
// checked. An archive holding `x -> /` whose Config is `x/etc/hostname` made leopard read the
// host's /etc/hostname ("config … is not valid JSON") while `x/etc/nonexistent` said "the archive
// lacks …": an oracle for host files, and a host JSON file was taken as the image's config.
// Defence: every archive path is opened with openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS) from
// the archive's root; absolute paths and ".." are refused before that, and the tar unpacker
// refuses ".." entries and never follows a symlink entry.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { sha256 } from "../../src/image/digest.ts";
import { load } from "../../src/image/load.ts";
import { MT } from "../../src/image/oci.ts";
import { Store } from "../../src/image/store.ts";
import { type TarEntry, tarBytes } from "../../src/image/tar-write.ts";
import { buildImage, leopardCmd, run } from "../image/harness.ts";

const text = (s: string) => new TextEncoder().encode(s);

let work: string;
let store: Store;
/** A directory outside every archive, standing for host files an archive must not reach. */
let host: string;
let hostBefore: string;

function snapshot(dir: string): string {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .sort()
    .map((n) => {
      try {
        return `${n}=${sha256(readFileSync(`${dir}/${n}`))}`;
      } catch {
        return `${n}/`;
      }
    })
    .join("\n");
}

/** A complete, valid docker-archive image (config.json, layer.tar) written into dir. */
async function hostImage(dir: string): Promise<void> {
  const layer = await tarBytes([{ name: "stolen", type: "file", data: text("from the host") }]);
  writeFileSync(`${dir}/layer.tar`, layer);
  writeFileSync(
    `${dir}/config.json`,
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: { Cmd: ["/bin/sh"] },
      rootfs: { type: "layers", diff_ids: [sha256(layer)] },
    }),
  );
}

beforeEach(async () => {
  work = mkdtempSync(`${tmpdir()}/leopard-sec-load-`);
  host = `${work}/host`;
  mkdirSync(host);
  await hostImage(host);
  // The same image's blobs as an OCI layout would hold them (host/blobs/sha256/<hex>).
  const oci = await buildImage(host, [{ entries: [{ name: "stolen", type: "file", data: text("oci") }] }]);
  writeFileSync(`${work}/oci-manifest-digest`, oci.manifestDigest);
  hostBefore = snapshot(host);
  store = new Store(`${work}/store`);
});

afterEach(() => {
  store.close();
  rmSync(work, { recursive: true, force: true });
});

/** Nothing was loaded and the host files are as they were. */
function nothingLoaded(): void {
  expect(store.meta.images()).toEqual([]);
  expect(snapshot(host)).toBe(hostBefore);
}

function dockerManifest(config: string, layers: string[]): TarEntry {
  return {
    name: "manifest.json",
    type: "file",
    data: text(JSON.stringify([{ Config: config, RepoTags: ["stolen:1"], Layers: layers }])),
  };
}

async function archive(name: string, entries: TarEntry[]): Promise<string> {
  const p = `${work}/${name}.tar`;
  writeFileSync(p, await tarBytes(entries));
  return p;
}

function ociIndex(): TarEntry[] {
  const digest = readFileSync(`${work}/oci-manifest-digest`, "utf8");
  const size = readFileSync(`${host}/blobs/sha256/${digest.slice(7)}`).length;
  return [
    { name: "oci-layout", type: "file", data: text('{"imageLayoutVersion":"1.0.0"}') },
    {
      name: "index.json",
      type: "file",
      data: text(
        JSON.stringify({
          schemaVersion: 2,
          manifests: [
            {
              mediaType: MT.ociManifest,
              digest,
              size,
              annotations: { "org.opencontainers.image.ref.name": "stolen:1" },
            },
          ],
        }),
      ),
    },
  ];
}

describe("a docker archive cannot read host files through a symlinked directory", () => {
  test("Config x/etc/hostname with x -> / is refused as a symlink, not read", async () => {
    const a = await archive("root-link", [
      { name: "x", type: "symlink", linkname: "/" },
      dockerManifest("x/etc/hostname", ["x/etc/hostname"]),
    ]);
    await expect(load(store, a)).rejects.toThrow('archive path "x/etc/hostname" goes through a symlink');
    nothingLoaded();
  });

  test("a host file that exists and one that does not get the same answer (no oracle)", async () => {
    const exists = await archive("exists", [
      { name: "x", type: "symlink", linkname: "/" },
      dockerManifest("x/etc/hostname", []),
    ]);
    const missing = await archive("missing", [
      { name: "x", type: "symlink", linkname: "/" },
      dockerManifest("x/etc/nonexistent", []),
    ]);
    const message = async (p: string) => {
      try {
        await load(store, p);
      } catch (e) {
        return (e as Error).message;
      }
      return "loaded";
    };
    expect(await message(exists)).toBe('archive path "x/etc/hostname" goes through a symlink');
    expect(await message(missing)).toBe('archive path "x/etc/nonexistent" goes through a symlink');
    nothingLoaded();
  });

  test("a valid image on the host (config and layer) is not loaded through h -> host", async () => {
    const a = await archive("host-image", [
      { name: "h", type: "symlink", linkname: host },
      dockerManifest("h/config.json", ["h/layer.tar"]),
    ]);
    await expect(load(store, a)).rejects.toThrow('archive path "h/config.json" goes through a symlink');
    nothingLoaded();
  });

  test("a layer through a symlinked directory is refused even when the config is the archive's own", async () => {
    const a = await archive("layer-link", [
      { name: "config.json", type: "file", data: readFileSync(`${host}/config.json`) },
      { name: "h", type: "symlink", linkname: host },
      dockerManifest("config.json", ["h/layer.tar"]),
    ]);
    await expect(load(store, a)).rejects.toThrow('archive path "h/layer.tar" goes through a symlink');
    nothingLoaded();
  });

  test("a symlinked manifest.json is refused", async () => {
    writeFileSync(`${host}/manifest.json`, JSON.stringify([{ Config: "config.json", Layers: [] }]));
    hostBefore = snapshot(host);
    const a = await archive("manifest-link", [
      { name: "manifest.json", type: "symlink", linkname: `${host}/manifest.json` },
    ]);
    await expect(load(store, a)).rejects.toThrow('archive path "manifest.json" is a symlink');
    nothingLoaded();
  });

  test("absolute and .. paths in manifest.json are refused", async () => {
    const abs = await archive("abs", [dockerManifest(`${host}/config.json`, [])]);
    await expect(load(store, abs)).rejects.toThrow(`"${host}/config.json" has an absolute path`);
    const up = await archive("up", [dockerManifest("a/../../host/config.json", [])]);
    await expect(load(store, up)).rejects.toThrow('"a/../../host/config.json" contains ".."');
    nothingLoaded();
  });

  test("a tar entry with .. is refused and writes nothing outside", async () => {
    const a = await archive("dotdot", [
      { name: "../host/planted", type: "file", data: text("planted") },
      dockerManifest("config.json", []),
    ]);
    await expect(load(store, a)).rejects.toThrow('contains ".."');
    nothingLoaded();
  });

  test("a FIFO named as the config is refused without waiting for a writer", async () => {
    const a = await archive("fifo", [{ name: "c.json", type: "fifo" }, dockerManifest("c.json", [])]);
    await expect(load(store, a)).rejects.toThrow('"c.json" in the archive is not a regular file');
    nothingLoaded();
  });

  test("leopard load of the archive says so and prints nothing of the host file", async () => {
    const a = await archive("cli", [
      { name: "x", type: "symlink", linkname: "/" },
      dockerManifest("x/etc/hostname", []),
    ]);
    const r = run(leopardCmd(`${work}/cli-store`, "load", "-i", a));
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('archive path "x/etc/hostname" goes through a symlink');
    expect(r.err).not.toContain("not valid JSON");
    expect(r.out).toBe("");
  });
});

describe("an OCI archive cannot read host blobs through a symlink", () => {
  test("blobs -> host/blobs is refused", async () => {
    const a = await archive("blobs-link", [
      ...ociIndex(),
      { name: "blobs", type: "symlink", linkname: `${host}/blobs` },
    ]);
    await expect(load(store, a)).rejects.toThrow(
      /archive path "blobs\/sha256\/[0-9a-f]{64}" goes through a symlink/,
    );
    nothingLoaded();
  });

  test("blobs/sha256 -> host/blobs/sha256 is refused", async () => {
    const a = await archive("sha-link", [
      ...ociIndex(),
      { name: "blobs", type: "dir" },
      { name: "blobs/sha256", type: "symlink", linkname: `${host}/blobs/sha256` },
    ]);
    await expect(load(store, a)).rejects.toThrow(
      /archive path "blobs\/sha256\/[0-9a-f]{64}" goes through a symlink/,
    );
    nothingLoaded();
  });

  test("a blob that is itself a symlink is refused", async () => {
    const digest = readFileSync(`${work}/oci-manifest-digest`, "utf8");
    const hex = digest.slice(7);
    const a = await archive("blob-link", [
      ...ociIndex(),
      { name: "blobs", type: "dir" },
      { name: "blobs/sha256", type: "dir" },
      { name: `blobs/sha256/${hex}`, type: "symlink", linkname: `${host}/blobs/sha256/${hex}` },
    ]);
    await expect(load(store, a)).rejects.toThrow(`archive path "blobs/sha256/${hex}" is a symlink`);
    nothingLoaded();
  });
});

describe("an OCI layout directory cannot read host blobs through a symlink", () => {
  test("a layout whose blobs directory is a symlink to the host is refused", async () => {
    const dir = `${work}/layout`;
    mkdirSync(dir);
    const digest = readFileSync(`${work}/oci-manifest-digest`, "utf8");
    // index.json and oci-layout are the layout's own; only the blobs are the host's.
    writeFileSync(`${dir}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
    const index = ociIndex().find((e) => e.name === "index.json")?.data as Uint8Array;
    writeFileSync(`${dir}/index.json`, index);
    symlinkSync(`${host}/blobs`, `${dir}/blobs`);
    await expect(load(store, dir)).rejects.toThrow(
      `archive path "blobs/sha256/${digest.slice(7)}" goes through a symlink`,
    );
    nothingLoaded();
  });

  test("a docker-archive directory with x -> / is refused", async () => {
    const dir = `${work}/docker-dir`;
    mkdirSync(dir);
    symlinkSync("/", `${dir}/x`);
    writeFileSync(`${dir}/manifest.json`, JSON.stringify([{ Config: "x/etc/hostname", Layers: [] }]));
    await expect(load(store, dir)).rejects.toThrow('archive path "x/etc/hostname" goes through a symlink');
    nothingLoaded();
  });
});
