// Pulling from a real registry (Debian's docker-registry on loopback): images pushed with
// skopeo from OCI layouts built here, pulled with leopard and compared file by file with what
// skopeo + umoci unpack produce. Hostile registry content is made by editing its storage.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { busyboxEntries, findBusybox } from "../../src/image/busybox.ts";
import { type Digest, sha256 } from "../../src/image/digest.ts";
import { pull } from "../../src/image/pull.ts";
import { prepareRootfs } from "../../src/image/rootfs.ts";
import { Store } from "../../src/image/store.ts";
import type { TarEntry } from "../../src/image/tar-write.ts";
import { describeTree } from "../../src/image/testing.ts";
import {
  type BuiltImage,
  buildImage,
  leopardCmd,
  type RunningRegistry,
  requireTools,
  run,
  skopeo,
  startRegistry,
  tempDir,
  writeLayout,
} from "./harness.ts";

const text = (s: string) => new TextEncoder().encode(s);

let reg: RunningRegistry;
let work: string;
let layout: string;
const built: Record<string, BuiltImage> = {};

function layeredLayers(): { entries: TarEntry[] }[] {
  return [
    {
      entries: [
        { name: "bin", type: "dir", mode: 0o755 },
        { name: "dev", type: "dir", mode: 0o755 },
        { name: "etc", type: "dir", mode: 0o755 },
        { name: "run", type: "dir", mode: 0o755 },
        { name: "usr", type: "dir", mode: 0o755 },
        { name: "usr/lib", type: "dir", mode: 0o755 },
        { name: "var", type: "dir", mode: 0o755 },
        { name: "var/cache", type: "dir", mode: 0o755 },
        { name: "var/cache/old", type: "dir", mode: 0o700 },
        { name: "etc/keep", type: "file", data: text("keep") },
        { name: "etc/gone", type: "file", data: text("gone") },
        { name: "var/cache/old/a", type: "file", data: text("a") },
        { name: "var/cache/old2", type: "file", data: text("old2") },
        { name: "usr/lib/libold.so", type: "file", data: text("elf") },
        { name: "bin/a", type: "file", data: text("A"), mode: 0o755, uid: 1000, gid: 1000 },
        { name: "bin/b", type: "link", linkname: "bin/a" },
        { name: "bin/c", type: "link", linkname: "bin/a" },
        { name: "bin/su", type: "file", data: text("su"), mode: 0o4755 },
        { name: "lib", type: "symlink", linkname: "usr/lib" },
        { name: "dev/null", type: "char", devmajor: 1, devminor: 3, mode: 0o666 },
        { name: "run/fifo", type: "fifo", mode: 0o600 },
      ],
    },
    {
      entries: [
        { name: "etc", type: "dir", mode: 0o755 },
        { name: "etc/.wh.gone", type: "file" },
        { name: "etc/keep", type: "file", data: text("changed"), mode: 0o600, uid: 5, gid: 6 },
        { name: "var/cache", type: "dir", mode: 0o755 },
        { name: "var/cache/.wh..wh..opq", type: "file" },
        { name: "var/cache/new", type: "file", data: text("new") },
        { name: "usr/lib/libnew.so", type: "file", data: text("elf2") },
      ],
    },
    {
      entries: [
        { name: "usr", type: "dir", mode: 0o755 },
        { name: "usr/.wh.lib", type: "file" },
        { name: "bin", type: "dir", mode: 0o755 },
        { name: "bin/.wh.c", type: "file" },
        { name: "opt", type: "dir", mode: 0o750 },
        { name: "opt/x", type: "file", data: text("x") },
      ],
    },
  ];
}

/** A one-file image with content unique to name, so hostile edits touch no other image. */
function unique(name: string): { entries: TarEntry[] }[] {
  return [{ entries: [{ name: "id", type: "file", data: text(`${name} ${Math.random()}`) }] }];
}

async function push(tag: string, repo: string, all = false): Promise<void> {
  skopeo(
    "copy",
    ...(all ? ["--all"] : []),
    "--dest-tls-verify=false",
    `oci:${layout}:${tag}`,
    `docker://${reg.host}/${repo}`,
  );
}

function registryBlob(d: Digest): string {
  return `${reg.dir}/data/docker/registry/v2/blobs/sha256/${d.slice(7, 9)}/${d.slice(7)}/data`;
}

function layerDigest(img: BuiltImage, i = 0): Digest {
  return (JSON.parse(new TextDecoder().decode(img.manifest)) as { layers: { digest: Digest }[] }).layers[i]!
    .digest;
}

beforeAll(async () => {
  requireTools("docker-registry", "skopeo", "umoci");
  reg = await startRegistry();
  work = tempDir("regtest");
  layout = `${work}/layout`;
  built["busybox"] = await buildImage(layout, [{ entries: busyboxEntries(findBusybox()) }]);
  built["layered"] = await buildImage(layout, layeredLayers());
  built["zstd"] = await buildImage(layout, [
    { entries: [{ name: "z", type: "file", data: text("zstd!") }], compression: "zstd" },
  ]);
  built["amd64"] = await buildImage(
    layout,
    [{ entries: [{ name: "arch", type: "file", data: text("amd64") }] }],
    { os: "linux", architecture: "amd64" },
  );
  built["arm64"] = await buildImage(
    layout,
    [{ entries: [{ name: "arch", type: "file", data: text("arm64") }] }],
    { os: "linux", architecture: "arm64", variant: "v8" },
  );
  for (const n of ["corrupt", "truncated", "missing"]) built[n] = await buildImage(layout, unique(n));
  const junk = new Uint8Array(5000).map((_, i) => (i * 31 + 7) & 0xff);
  built["nottar"] = await buildImage(layout, [
    { entries: [], raw: { bytes: new Uint8Array(gzipSync(junk)), diffId: sha256(junk) } },
  ]);
  const refs = Object.entries(built)
    .filter(([k]) => k !== "amd64" && k !== "arm64")
    .map(([tag, img]) => ({ tag, images: [img] }));
  refs.push({ tag: "multi", images: [built["amd64"]!, built["arm64"]!] });
  writeLayout(layout, refs);
  await push("busybox", "library/busybox:latest");
  await push("layered", "test/layered:1");
  await push("zstd", "test/zstd:1");
  await push("multi", "test/multi:1", true);
  for (const n of ["corrupt", "truncated", "missing", "nottar"]) await push(n, `hostile/${n}:1`);
}, 60_000);

afterAll(async () => {
  await reg?.stop();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

/** skopeo copy to an OCI layout, then umoci unpack: the reference tree. */
function umociTree(ref: string, name: string): Record<string, string> {
  skopeo("copy", "--src-tls-verify=false", `docker://${reg.host}/${ref}`, `oci:${work}/u-${name}:x`);
  const r = run(["umoci", "unpack", "--image", `${work}/u-${name}:x`, `${work}/bundle-${name}`]);
  if (r.code !== 0) throw new Error(`umoci unpack failed: ${r.err}`);
  return describeTree(`${work}/bundle-${name}/rootfs`);
}

function withStore<T>(f: (s: Store, dir: string) => Promise<T>): Promise<T> {
  const dir = tempDir("pullstore");
  const s = new Store(dir);
  return f(s, dir).finally(() => {
    s.close();
    rmSync(dir, { recursive: true, force: true });
  });
}

describe("pull from a real registry", () => {
  test("a single-layer image unpacks to the same tree as skopeo + umoci", async () => {
    await withStore(async (store) => {
      const img = await pull(store, `${reg.host}/library/busybox:latest`, { embeddedFallback: false });
      expect(img.manifestDigest).toBe(built["busybox"]!.manifestDigest);
      const rootfs = await prepareRootfs(store, img, "cmp-busybox", { mode: "overlay" });
      try {
        expect(describeTree(rootfs.path)).toEqual(umociTree("library/busybox:latest", "busybox"));
      } finally {
        await rootfs.cleanup();
      }
    });
  }, 60_000);

  test("a multi-layer image with deletions, opaque directories, links and devices matches umoci, mounted and copied", async () => {
    await withStore(async (store) => {
      const img = await pull(store, `${reg.host}/test/layered:1`);
      expect(img.layers.length).toBe(3);
      const expected = umociTree("test/layered:1", "layered");
      expect(expected["etc/gone"]).toBeUndefined();
      expect(expected["var/cache/new"]).toBeDefined();
      for (const mode of ["overlay", "copy"] as const) {
        const rootfs = await prepareRootfs(store, img, `cmp-layered-${mode}`, { mode });
        try {
          expect(describeTree(rootfs.path)).toEqual(expected);
        } finally {
          await rootfs.cleanup();
        }
      }
    });
  }, 60_000);

  test("a zstd layer is pulled and unpacked", async () => {
    await withStore(async (store) => {
      const img = await pull(store, `${reg.host}/test/zstd:1`);
      expect(await Bun.file(`${store.snapshotPath(img.chain[0]!)}/z`).text()).toBe("zstd!");
    });
  });

  test("an index resolves to the host platform, or to the one --platform names", async () => {
    await withStore(async (_store, dir) => {
      let r = run(leopardCmd(dir, "pull", "-q", `${reg.host}/test/multi:1`));
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      r = run(leopardCmd(dir, "inspect", `${reg.host}/test/multi:1`));
      expect(JSON.parse(r.out)[0].Architecture).toBe("amd64");
      r = run(leopardCmd(dir, "pull", "--platform", "linux/arm64", `${reg.host}/test/multi:1`));
      expect(r.code).toBe(0);
      r = run(leopardCmd(dir, "inspect", `${reg.host}/test/multi:1`));
      expect(JSON.parse(r.out)[0].Architecture).toBe("arm64");
      r = run(leopardCmd(dir, "pull", "--platform", "linux/s390x", `${reg.host}/test/multi:1`));
      expect(r.code).toBe(1);
      expect(r.err).toContain('has no image for platform "linux/s390x"');
    });
  }, 30_000);

  test("two concurrent pulls of one image both succeed and fetch each blob once", async () => {
    await withStore(async (store, dir) => {
      const before = reg.log().length;
      const procs = [0, 1].map(() =>
        Bun.spawn(leopardCmd(dir, "pull", "-q", `${reg.host}/test/layered:1`), {
          stdout: "pipe",
          stderr: "pipe",
        }),
      );
      const codes = await Promise.all(procs.map((p) => p.exited));
      const errs = await Promise.all(procs.map((p) => new Response(p.stderr).text()));
      expect(errs).toEqual(["", ""]);
      expect(codes).toEqual([0, 0]);
      const log = reg.log().slice(before);
      const manifest = JSON.parse(new TextDecoder().decode(built["layered"]!.manifest)) as {
        layers: { digest: string }[];
      };
      for (const l of manifest.layers) {
        const gets = log
          .split("\n")
          .filter((line) => line.includes(`"GET /v2/test/layered/blobs/${l.digest}`));
        expect(gets.length).toBe(1);
      }
      const img = store.resolve(`${reg.host}/test/layered:1`);
      expect(store.meta.images().length).toBe(1);
      for (const c of img.chain) expect(store.meta.snapshot(c)?.refs).toBe(1);
    });
  }, 60_000);
});

describe("offline", () => {
  test("busybox comes from the embedded image when its registry cannot be reached", async () => {
    await withStore(async (store) => {
      const lines: string[] = [];
      const progress = {
        start() {},
        add() {},
        done() {},
        close() {},
        line: (t: string) => void lines.push(t),
      };
      // A closed loopback port stands in for an unreachable Docker Hub.
      const img = await pull(store, "busybox", { mirrors: { "docker.io": "127.0.0.1:1" }, progress });
      expect(store.resolve("busybox").id).toBe(img.id);
      expect(lines.join("\n")).toContain("using the embedded busybox");
      await expect(pull(store, "alpine", { mirrors: { "docker.io": "127.0.0.1:1" } })).rejects.toThrow(
        'registry "docker.io" could not be reached',
      );
    });
  }, 30_000);
});

describe("transient failures", () => {
  test("503 answers and a connection cut mid-blob are retried until the pull succeeds", async () => {
    const seen = new Map<string, number>();
    let cut = 0;
    const proxy = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const u = new URL(req.url);
        const n = (seen.get(u.pathname) ?? 0) + 1;
        seen.set(u.pathname, n);
        if (n === 1 && u.pathname !== "/v2/") return new Response("busy", { status: 503 });
        const upstream = await fetch(`http://${reg.host}${u.pathname}`, { headers: req.headers });
        if (n === 2 && u.pathname.includes("/blobs/") && upstream.body !== null) {
          // Half the bytes, then the connection breaks.
          cut++;
          const all = new Uint8Array(await upstream.arrayBuffer());
          const body = new ReadableStream({
            start(c) {
              c.enqueue(all.subarray(0, all.length >> 1));
              c.close();
            },
          });
          return new Response(body, { headers: { "content-length": String(all.length) } });
        }
        return upstream;
      },
    });
    try {
      await withStore(async (store) => {
        const img = await pull(store, `127.0.0.1:${proxy.port}/test/layered:1`);
        expect(img.layers.length).toBe(3);
      });
      expect(cut).toBeGreaterThan(0);
      expect([...seen.values()].some((n) => n >= 3)).toBe(true);
    } finally {
      proxy.stop(true);
    }
  }, 30_000);
});

describe("resumed downloads", () => {
  /**
   * A proxy in front of the registry that cuts the first answer for one blob after half its
   * bytes; honourRange false strips the Range header, so the registry answers 200 in full.
   */
  function cuttingProxy(blob: Digest, honourRange: boolean) {
    const requests: { range: string | null; status: number }[] = [];
    const proxy = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const u = new URL(req.url);
        const headers = new Headers(req.headers);
        if (!honourRange) headers.delete("range");
        const upstream = await fetch(`http://${reg.host}${u.pathname}`, { headers });
        if (!u.pathname.endsWith(`/blobs/${blob}`)) return upstream;
        requests.push({ range: req.headers.get("range"), status: upstream.status });
        if (requests.length > 1 || upstream.body === null) return upstream;
        const all = new Uint8Array(await upstream.arrayBuffer());
        const body = new ReadableStream({
          start(c) {
            c.enqueue(all.subarray(0, all.length >> 1));
            c.close();
          },
        });
        return new Response(body, { headers: { "content-length": String(all.length) } });
      },
    });
    return { proxy, requests };
  }

  for (const honourRange of [true, false]) {
    test(`a connection cut mid-blob continues with a Range request (${honourRange ? "206" : "200: full restart"})`, async () => {
      const layer = layerDigest(built["busybox"]!);
      const size = (await Bun.file(registryBlob(layer)).arrayBuffer()).byteLength;
      const { proxy, requests } = cuttingProxy(layer, honourRange);
      try {
        await withStore(async (store) => {
          const img = await pull(store, `127.0.0.1:${proxy.port}/library/busybox:latest`, {
            embeddedFallback: false,
          });
          expect(img.manifestDigest).toBe(built["busybox"]!.manifestDigest);
          expect(requests).toEqual([
            { range: null, status: 200 },
            { range: `bytes=${size >> 1}-`, status: honourRange ? 206 : 200 },
          ]);
          expect(sha256(store.readBlob(layer))).toBe(layer);
          // The same tree as a pull that was never interrupted.
          await withStore(async (direct) => {
            const ref = await pull(direct, `${reg.host}/library/busybox:latest`, { embeddedFallback: false });
            expect(describeTree(store.snapshotPath(img.chain[0]!))).toEqual(
              describeTree(direct.snapshotPath(ref.chain[0]!)),
            );
          });
        });
      } finally {
        proxy.stop(true);
      }
    }, 60_000);
  }
});

describe("hostile registry content is refused and leaves nothing in the store", () => {
  async function refused(name: string, message: string): Promise<void> {
    await withStore(async (store, dir) => {
      await expect(pull(store, `${reg.host}/hostile/${name}:1`)).rejects.toThrow(message);
      expect(store.meta.images()).toEqual([]);
      expect(readdirSync(`${dir}/tmp`)).toEqual([]);
      expect(readdirSync(`${dir}/snapshots`)).toEqual([]);
      expect(readdirSync(`${dir}/blobs/sha256`)).toEqual([]);
    });
  }

  test("a blob whose bytes do not match its digest", async () => {
    const p = registryBlob(layerDigest(built["corrupt"]!));
    const bytes = new Uint8Array(await Bun.file(p).arrayBuffer());
    bytes[bytes.length - 10] = (bytes[bytes.length - 10]! + 1) & 0xff;
    writeFileSync(p, bytes);
    await refused("corrupt", "has the wrong content");
  }, 30_000);

  test("a truncated download", async () => {
    const p = registryBlob(layerDigest(built["truncated"]!));
    truncateSync(p, 20);
    await refused("truncated", "were expected (truncated download?)");
  }, 30_000);

  test("a manifest pointing at a missing blob", async () => {
    rmSync(registryBlob(layerDigest(built["missing"]!)));
    await refused("missing", "was not found in registry");
  }, 30_000);

  test("a layer that is not a tar", async () => {
    await withStore(async (store, dir) => {
      await expect(pull(store, `${reg.host}/hostile/nottar:1`)).rejects.toThrow(
        "layer is not a valid tar archive",
      );
      expect(store.meta.images()).toEqual([]);
      expect(readdirSync(`${dir}/blobs/sha256`)).toEqual([]);
      expect(readdirSync(`${dir}/snapshots`)).toEqual([]);
      expect(readdirSync(`${dir}/tmp`)).toEqual([]);
    });
  }, 30_000);
});
