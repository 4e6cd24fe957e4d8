// OCI image-spec and docker schema2 documents: manifests, indexes, configs. Parsed once from
// untrusted JSON into these types.
import { LeopardError } from "../util/errors.ts";
import { type Digest, parseDigest } from "./digest.ts";

export const MT = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
} as const;

export const LAYER_TYPES: readonly string[] = [
  MT.ociLayer,
  MT.ociLayerGzip,
  MT.ociLayerZstd,
  MT.dockerLayer,
  "application/vnd.docker.image.rootfs.diff.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
];

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface Manifest {
  kind: "manifest";
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface Index {
  kind: "index";
  mediaType: string;
  manifests: Descriptor[];
}

export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  config?: Record<string, unknown>;
  rootfs: { type: string; diff_ids: Digest[] };
  history?: unknown[];
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new LeopardError("invalid-argument", `${what} is not a JSON object`);
  }
  return v as Record<string, unknown>;
}

function str(v: unknown, what: string): string {
  if (typeof v !== "string") throw new LeopardError("invalid-argument", `${what} is not a string`);
  return v;
}

export function parseJson(bytes: Uint8Array | string, what: string): unknown {
  try {
    return JSON.parse(typeof bytes === "string" ? bytes : new TextDecoder().decode(bytes));
  } catch (e) {
    throw new LeopardError("invalid-argument", `${what} is not valid JSON`, { cause: e });
  }
}

export function parseDescriptor(v: unknown, what: string): Descriptor {
  const o = obj(v, what);
  const size = o["size"];
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw new LeopardError("invalid-argument", `${what} has an invalid size "${String(size)}"`);
  }
  const d: Descriptor = {
    mediaType: str(o["mediaType"], `${what} mediaType`),
    digest: parseDigest(o["digest"], `${what} digest`),
    size,
  };
  if (o["platform"] !== undefined) {
    const p = obj(o["platform"], `${what} platform`);
    d.platform = {
      architecture: str(p["architecture"], "platform architecture"),
      os: str(p["os"], "platform os"),
    };
    if (typeof p["variant"] === "string") d.platform.variant = p["variant"];
  }
  if (o["annotations"] !== undefined)
    d.annotations = obj(o["annotations"], `${what} annotations`) as Record<string, string>;
  return d;
}

/** A manifest or an index, by its mediaType (from the document or, failing that, the transport). */
export function parseManifestOrIndex(
  bytes: Uint8Array,
  what: string,
  contentType?: string,
): Manifest | Index {
  const o = obj(parseJson(bytes, what), what);
  const mediaType = typeof o["mediaType"] === "string" ? o["mediaType"] : (contentType ?? "");
  if (o["schemaVersion"] !== 2) {
    throw new LeopardError(
      "unsupported",
      `${what} has schemaVersion "${String(o["schemaVersion"])}"; only 2 is supported`,
    );
  }
  if (
    mediaType === MT.ociIndex ||
    mediaType === MT.dockerList ||
    (mediaType === "" && Array.isArray(o["manifests"]))
  ) {
    const ms = o["manifests"];
    if (!Array.isArray(ms)) throw new LeopardError("invalid-argument", `${what} has no manifests list`);
    return {
      kind: "index",
      mediaType: mediaType || MT.ociIndex,
      manifests: ms.map((m, i) => parseDescriptor(m, `${what} manifests[${i}]`)),
    };
  }
  if (mediaType !== MT.ociManifest && mediaType !== MT.dockerManifest && mediaType !== "") {
    throw new LeopardError("unsupported", `${what} has the unsupported media type "${mediaType}"`);
  }
  const layers = o["layers"];
  if (!Array.isArray(layers)) throw new LeopardError("invalid-argument", `${what} has no layers list`);
  const m: Manifest = {
    kind: "manifest",
    mediaType: mediaType || MT.ociManifest,
    config: parseDescriptor(o["config"], `${what} config`),
    layers: layers.map((l, i) => parseDescriptor(l, `${what} layers[${i}]`)),
  };
  for (const l of m.layers) {
    if (!LAYER_TYPES.includes(l.mediaType)) {
      throw new LeopardError("unsupported", `${what} has a layer of unsupported media type "${l.mediaType}"`);
    }
  }
  return m;
}

export function parseConfig(bytes: Uint8Array, what: string): ImageConfig {
  const o = obj(parseJson(bytes, what), what);
  const rootfs = obj(o["rootfs"], `${what} rootfs`);
  const ids = rootfs["diff_ids"];
  if (!Array.isArray(ids)) throw new LeopardError("invalid-argument", `${what} has no rootfs.diff_ids`);
  const c: ImageConfig = {
    ...(o as object),
    architecture: typeof o["architecture"] === "string" ? o["architecture"] : "",
    os: typeof o["os"] === "string" ? o["os"] : "",
    rootfs: {
      type: str(rootfs["type"], `${what} rootfs.type`),
      diff_ids: ids.map((d) => parseDigest(d, `${what} diff_id`)),
    },
  };
  return c;
}

/** The host platform in OCI terms. */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = {
    x64: "amd64",
    arm64: "arm64",
    arm: "arm",
    ia32: "386",
    ppc64: "ppc64le",
    s390x: "s390x",
    riscv64: "riscv64",
  };
  const p: Platform = { architecture: arch[process.arch] ?? process.arch, os: "linux" };
  if (p.architecture === "arm64") p.variant = "v8";
  return p;
}

/** "linux/arm64/v8" → Platform. */
export function parsePlatform(s: string): Platform {
  const [os, architecture, variant] = s.split("/");
  if (os === undefined || os === "" || architecture === undefined || architecture === "") {
    throw new LeopardError("invalid-argument", `platform "${s}" is not of the form os/arch[/variant]`);
  }
  const p: Platform = { os, architecture };
  if (variant !== undefined && variant !== "") p.variant = variant;
  return p;
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((x) => x !== undefined && x !== "").join("/");
}

/** Picks the index entry for a platform; a missing variant matches any (arm64 "v8" by default). */
export function selectPlatform(index: Index, want: Platform, what: string): Descriptor {
  const candidates = index.manifests.filter(
    (m) =>
      m.platform !== undefined && m.platform.os === want.os && m.platform.architecture === want.architecture,
  );
  const exact = candidates.find((m) => (m.platform?.variant ?? "") === (want.variant ?? ""));
  const pick = exact ?? candidates.find((m) => m.platform?.variant === undefined) ?? candidates[0];
  if (pick === undefined) {
    const have = index.manifests
      .map((m) => (m.platform === undefined ? "?" : formatPlatform(m.platform)))
      .join(", ");
    throw new LeopardError(
      "not-found",
      `${what} has no image for platform "${formatPlatform(want)}" (it has: ${have})`,
    );
  }
  return pick;
}
