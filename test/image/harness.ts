// Test harness for the image suite: real registries (Debian's docker-registry) on loopback
// with storage in a temp dir, OCI layouts built from hand-made layers and pushed with skopeo,
// and the leopard CLI run as a subprocess.
import { createSign, generateKeyPairSync } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { type Digest, sha256 } from "../../src/image/digest.ts";
import { MT, type Platform } from "../../src/image/oci.ts";
import { type TarEntry, tarBytes } from "../../src/image/tar-write.ts";

export const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
export const BUN = process.execPath;

/** Fails loudly when a tool the suite needs is missing (make apt-deps installs them). */
export function requireTools(...tools: string[]): void {
  const missing = tools.filter((t) => Bun.which(t) === null);
  if (missing.length > 0) {
    throw new Error(`image tests need ${missing.join(", ")}: run "make apt-deps" (as root)`);
  }
}

export function tempDir(prefix: string): string {
  return mkdtempSync(`${tmpdir()}/leopard-img-${prefix}-`);
}

export async function freePort(): Promise<number> {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

/** Registries still running, stopped on exit even when a hook failed half-way. */
const running = new Map<{ kill(): void }, string>();
process.on("exit", () => {
  for (const [proc, dir] of running) {
    proc.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

export interface RunningRegistry {
  host: string;
  dir: string;
  log(): string;
  stop(): Promise<void>;
}

export interface RegistryAuth {
  /** Serve HTTPS with a fresh self-signed certificate for 127.0.0.1. */
  tls?: boolean;
  htpasswd?: { user: string; password: string };
  token?: { realm: string; service: string; issuer: string; certPath: string };
}

/** Starts docker-registry on 127.0.0.1 (a free port) and waits until /v2/ answers. */
export async function startRegistry(auth: RegistryAuth = {}): Promise<RunningRegistry> {
  requireTools("docker-registry");
  const dir = tempDir("registry");
  const port = await freePort();
  let authYaml = "";
  if (auth.htpasswd !== undefined) {
    const h = Bun.spawnSync(["htpasswd", "-Bbn", auth.htpasswd.user, auth.htpasswd.password]);
    if (h.exitCode !== 0) throw new Error("htpasswd failed");
    writeFileSync(`${dir}/htpasswd`, h.stdout);
    authYaml = `auth:\n  htpasswd:\n    realm: leopard-test\n    path: ${dir}/htpasswd\n`;
  } else if (auth.token !== undefined) {
    const t = auth.token;
    authYaml = `auth:\n  token:\n    realm: ${t.realm}\n    service: ${t.service}\n    issuer: ${t.issuer}\n    rootcertbundle: ${t.certPath}\n`;
  }
  let tlsYaml = "";
  if (auth.tls === true) {
    requireTools("openssl");
    const r = run([
      "openssl",
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      `${dir}/tls.key`,
      "-out",
      `${dir}/tls.crt`,
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ]);
    if (r.code !== 0) throw new Error(`openssl failed: ${r.err}`);
    tlsYaml = `  tls:\n    certificate: ${dir}/tls.crt\n    key: ${dir}/tls.key\n`;
  }
  writeFileSync(
    `${dir}/config.yml`,
    `version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: ${dir}/data
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:${port}
${tlsYaml}${authYaml}`,
  );
  const logPath = `${dir}/registry.log`;
  const proc = Bun.spawn(["docker-registry", "serve", `${dir}/config.yml`], {
    stdout: Bun.file(logPath),
    stderr: Bun.file(`${dir}/registry.err`),
  });
  running.set(proc, dir);
  const host = `127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const r = await fetch(`${auth.tls === true ? "https" : "http"}://${host}/v2/`, {
        tls: { rejectUnauthorized: false },
      });
      await r.body?.cancel();
      if (r.status === 200 || r.status === 401) break;
    } catch {
      // not listening yet
    }
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill();
      running.delete(proc);
      const err = await Bun.file(`${dir}/registry.err`).text();
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`docker-registry did not start: ${err.slice(-2000)}`);
    }
    await Bun.sleep(50);
  }
  return {
    host,
    dir,
    log: () => readFileSync(logPath, "utf8"),
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
      running.delete(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface LayerSpec {
  entries: TarEntry[];
  compression?: "gzip" | "zstd" | "none";
  /** Blob bytes used as they are instead of the tar of entries (hostile layers). */
  raw?: { bytes: Uint8Array; diffId: Digest };
}

export interface BuiltImage {
  manifestDigest: Digest;
  manifest: Uint8Array;
  platform: Platform;
}

const enc = new TextEncoder();

function blob(dir: string, bytes: Uint8Array): Digest {
  const d = sha256(bytes);
  mkdirSync(`${dir}/blobs/sha256`, { recursive: true });
  writeFileSync(`${dir}/blobs/sha256/${d.slice(7)}`, bytes);
  return d;
}

/** Writes one image's blobs (layers, config, manifest) into an OCI layout directory. */
export async function buildImage(
  dir: string,
  layers: LayerSpec[],
  platform: Platform = { os: "linux", architecture: "amd64" },
): Promise<BuiltImage> {
  const descs: { mediaType: string; digest: Digest; size: number }[] = [];
  const diffIds: Digest[] = [];
  for (const l of layers) {
    if (l.raw !== undefined) {
      diffIds.push(l.raw.diffId);
      descs.push({ mediaType: MT.ociLayerGzip, digest: blob(dir, l.raw.bytes), size: l.raw.bytes.length });
      continue;
    }
    const tar = await tarBytes(l.entries);
    diffIds.push(sha256(tar));
    const c = l.compression ?? "gzip";
    const bytes =
      c === "gzip"
        ? new Uint8Array(gzipSync(tar))
        : c === "zstd"
          ? new Uint8Array(zstdCompressSync(tar))
          : tar;
    const mediaType = c === "gzip" ? MT.ociLayerGzip : c === "zstd" ? MT.ociLayerZstd : MT.ociLayer;
    descs.push({ mediaType, digest: blob(dir, bytes), size: bytes.length });
  }
  const config = enc.encode(
    JSON.stringify({
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant === undefined ? {} : { variant: platform.variant }),
      created: "2024-01-01T00:00:00Z",
      config: { Cmd: ["/bin/sh"] },
      rootfs: { type: "layers", diff_ids: diffIds },
    }),
  );
  const manifest = enc.encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MT.ociManifest,
      config: { mediaType: MT.ociConfig, digest: blob(dir, config), size: config.length },
      layers: descs,
    }),
  );
  return { manifestDigest: blob(dir, manifest), manifest, platform };
}

/** Writes index.json naming each entry by tag (ref.name); an entry may be a multi-platform index. */
export function writeLayout(dir: string, refs: { tag: string; images: BuiltImage[] }[]): void {
  const manifests = refs.map(({ tag, images }) => {
    if (images.length === 1) {
      const i = images[0]!;
      return {
        mediaType: MT.ociManifest,
        digest: i.manifestDigest,
        size: i.manifest.length,
        annotations: { "org.opencontainers.image.ref.name": tag },
      };
    }
    const index = enc.encode(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.ociIndex,
        manifests: images.map((i) => ({
          mediaType: MT.ociManifest,
          digest: i.manifestDigest,
          size: i.manifest.length,
          platform: i.platform,
        })),
      }),
    );
    return {
      mediaType: MT.ociIndex,
      digest: blob(dir, index),
      size: index.length,
      annotations: { "org.opencontainers.image.ref.name": tag },
    };
  });
  writeFileSync(`${dir}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(`${dir}/index.json`, JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests }));
}

export function run(
  cmd: string[],
  opts: { env?: Record<string, string>; stdin?: string } = {},
): { code: number; out: string; err: string } {
  const p = Bun.spawnSync(cmd, {
    env: { ...process.env, ...opts.env },
    stdin: opts.stdin === undefined ? "ignore" : enc.encode(opts.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: p.exitCode ?? -1, out: p.stdout.toString(), err: p.stderr.toString() };
}

/** skopeo copy, failing the test with skopeo's message when it fails. */
export function skopeo(...args: string[]): string {
  requireTools("skopeo");
  const r = run(["skopeo", "--insecure-policy", ...args]);
  if (r.code !== 0) throw new Error(`skopeo ${args.join(" ")} failed: ${r.err}`);
  return r.out;
}

/** skopeo without blocking this process (needed when this process serves tokens). */
export async function skopeoAsync(...args: string[]): Promise<string> {
  requireTools("skopeo");
  const p = Bun.spawn(["skopeo", "--insecure-policy", ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  if (code !== 0) throw new Error(`skopeo ${args.join(" ")} failed: ${err}`);
  return out;
}

export function leopardCmd(storage: string, ...args: string[]): string[] {
  return [BUN, `${REPO}/src/cli/leopard.ts`, "--storage", storage, ...args];
}

/** A JWT token server for the registry's token auth (ES256, certificate in x5c). */
export function tokenIssuer(dir: string): {
  certPath: string;
  sign(scope: string, service: string, issuer: string): string;
} {
  requireTools("openssl");
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const keyPath = `${dir}/token.key`;
  writeFileSync(keyPath, privateKey.export({ type: "pkcs8", format: "pem" }));
  const certPath = `${dir}/token.crt`;
  const r = run([
    "openssl",
    "req",
    "-new",
    "-x509",
    "-key",
    keyPath,
    "-out",
    certPath,
    "-days",
    "1",
    "-subj",
    "/CN=leopard-test-token",
  ]);
  if (r.code !== 0) throw new Error(`openssl failed: ${r.err}`);
  const x5c = Buffer.from(
    Bun.spawnSync(["openssl", "x509", "-in", certPath, "-outform", "DER"]).stdout,
  ).toString("base64");
  const b64u = (b: Buffer | string) => Buffer.from(b).toString("base64url");
  return {
    certPath,
    sign(scope, service, issuer) {
      const now = Math.floor(Date.now() / 1000);
      const access = scope
        .split(" ")
        .filter((s) => s.startsWith("repository:"))
        .map((s) => {
          const [, name, actions] = /^repository:(.+):([^:]+)$/.exec(s) ?? [];
          return { type: "repository", name, actions: (actions ?? "").split(",") };
        });
      const header = b64u(JSON.stringify({ typ: "JWT", alg: "ES256", x5c: [x5c] }));
      const claims = b64u(
        JSON.stringify({
          iss: issuer,
          sub: "test",
          aud: service,
          exp: now + 600,
          nbf: now - 10,
          iat: now,
          jti: String(Math.random()),
          access,
        }),
      );
      const signer = createSign("SHA256");
      signer.update(`${header}.${claims}`);
      const sig = signer.sign({ key: privateKey, dsaEncoding: "ieee-p1363" });
      return `${header}.${claims}.${b64u(sig)}`;
    },
  };
}
