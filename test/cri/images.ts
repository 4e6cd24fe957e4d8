// The CRI suite's images, built here and pushed to a docker-registry on loopback:
//   pause    the pod sandbox image: test/cri/pause.c, built static, as /pause
//   noentry  the same layer with an entrypoint the image does not have (bad input)
//   busybox  the engine's own busybox (`leopard pull busybox` builds it offline), `leopard save`d
// The layout and the archive are kept under build/cri and rebuilt when their sources change.
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Digest, sha256 } from "../../src/image/digest.ts";
import { MT } from "../../src/image/oci.ts";
import { tarBytes } from "../../src/image/tar-write.ts";

const TOP = join(import.meta.dir, "../..");
const OUT = join(TOP, "build/cri");
const PAUSE_SRC = join(import.meta.dir, "pause.c");
const LEOPARD = join(TOP, "bin/leopard");

function sh(argv: string[]): string {
  const r = Bun.spawnSync(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} failed: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

const newer = (a: string, b: string) => !existsSync(b) || statSync(a).mtimeMs > statSync(b).mtimeMs;

function blob(dir: string, bytes: Uint8Array): Digest {
  const d = sha256(bytes);
  mkdirSync(join(dir, "blobs/sha256"), { recursive: true });
  writeFileSync(join(dir, "blobs/sha256", d.slice(7)), bytes);
  return d;
}

/** The OCI layout with the tags pause and noentry (one layer: /pause). */
async function pauseLayout(): Promise<string> {
  const layout = join(OUT, "pause-layout");
  if (!newer(PAUSE_SRC, join(layout, "index.json"))) return layout;
  rmSync(layout, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const bin = join(OUT, "pause");
  sh(["cc", "-static", "-O2", "-Wall", "-Werror", "-o", bin, PAUSE_SRC]);
  const tar = await tarBytes([
    { name: "pause", type: "file", mode: 0o755, mtime: 946684800, data: new Uint8Array(readFileSync(bin)) },
  ]);
  const layer = blob(layout, tar);
  const manifests = ["pause", "noentry"].map((tag) => {
    const config = new TextEncoder().encode(
      JSON.stringify({
        architecture: "amd64",
        os: "linux",
        created: "2000-01-01T00:00:00Z",
        config: { Entrypoint: [tag === "pause" ? "/pause" : "/no-such-entrypoint"] },
        rootfs: { type: "layers", diff_ids: [layer] },
      }),
    );
    const manifest = new TextEncoder().encode(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.ociManifest,
        config: { mediaType: MT.ociConfig, digest: blob(layout, config), size: config.length },
        layers: [{ mediaType: MT.ociLayer, digest: layer, size: tar.length }],
      }),
    );
    return {
      mediaType: MT.ociManifest,
      digest: blob(layout, manifest),
      size: manifest.length,
      annotations: { "org.opencontainers.image.ref.name": tag },
    };
  });
  writeFileSync(join(layout, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(join(layout, "index.json"), JSON.stringify({ schemaVersion: 2, manifests }));
  return layout;
}

/** busybox as an OCI archive, made by the engine in a storage of its own. */
function busyboxArchive(): string {
  const archive = join(OUT, "busybox.oci.tar");
  if (existsSync(archive)) return archive;
  mkdirSync(OUT, { recursive: true });
  const storage = join(tmpdir(), `leopard-cri-busybox-${process.pid}`);
  try {
    const flags = ["--storage", join(storage, "store"), "--run", join(storage, "run")];
    sh([LEOPARD, ...flags, "pull", "busybox"]);
    sh([LEOPARD, ...flags, "save", "--format", "oci-archive", "-o", `${archive}.tmp`, "busybox"]);
    sh(["mv", `${archive}.tmp`, archive]);
  } finally {
    rmSync(storage, { recursive: true, force: true });
  }
  return archive;
}

export interface PushedImages {
  pause: string;
  noentry: string;
  busybox: string;
}

/** Pushes the images to the registry at `host` as `<name>/leopard/<image>:test`; returns the names. */
export async function pushImages(host: string, name: string): Promise<PushedImages> {
  const layout = await pauseLayout();
  const archive = busyboxArchive();
  const copy = (src: string, image: string) =>
    sh([
      "skopeo",
      "--insecure-policy",
      "copy",
      "-q",
      "--dest-tls-verify=false",
      src,
      `docker://${host}/leopard/${image}:test`,
    ]);
  copy(`oci:${layout}:pause`, "pause");
  copy(`oci:${layout}:noentry`, "noentry");
  copy(`oci-archive:${archive}`, "busybox");
  return {
    pause: `${name}/leopard/pause:test`,
    noentry: `${name}/leopard/noentry:test`,
    busybox: `${name}/leopard/busybox:test`,
  };
}
