import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { findCredentials, removeCredentials, saveCredentials } from "./auth.ts";
import { chainIds, sha256 } from "./digest.ts";
import { type Index, parseManifestOrIndex, parsePlatform, selectPlatform } from "./oci.ts";
import { Progress } from "./progress.ts";
import { familiarName, formatReference, parseReference } from "./reference.ts";
import { isLocalhost, parseChallenge } from "./registry.ts";

describe("image references", () => {
  test("short names expand as docker expands them", () => {
    expect(formatReference(parseReference("busybox"))).toBe("docker.io/library/busybox:latest");
    expect(formatReference(parseReference("user/app:1.2"))).toBe("docker.io/user/app:1.2");
    expect(formatReference(parseReference("127.0.0.1:5000/a/b"))).toBe("127.0.0.1:5000/a/b:latest");
    expect(formatReference(parseReference("localhost/x:y"))).toBe("localhost/x:y");
    const d = sha256("x");
    expect(parseReference(`quay.io/a/b@${d}`)).toEqual({ registry: "quay.io", repository: "a/b", digest: d });
    expect(familiarName("docker.io/library/busybox:latest")).toBe("busybox:latest");
  });

  test("bad references are refused with the reference quoted", () => {
    expect(() => parseReference("UPPER/case")).toThrow(
      'image reference "UPPER/case" has an invalid repository name',
    );
    expect(() => parseReference("a:b@sha256:12")).toThrow("is not a sha256 digest");
    expect(() => parseReference("a:-x")).toThrow('has an invalid tag "-x"');
  });
});

describe("digests", () => {
  test("chain ids follow the image spec", () => {
    const a = sha256("a");
    const b = sha256("b");
    expect(chainIds([a, b])).toEqual([a, sha256(`${a} ${b}`)]);
  });
});

describe("manifests and platforms", () => {
  const m = (arch: string, variant?: string) => ({
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: sha256(arch + (variant ?? "")),
    size: 1,
    platform: { os: "linux", architecture: arch, ...(variant === undefined ? {} : { variant }) },
  });
  const index = parseManifestOrIndex(
    new TextEncoder().encode(
      JSON.stringify({ schemaVersion: 2, manifests: [m("amd64"), m("arm", "v7"), m("arm64", "v8")] }),
    ),
    "index",
  ) as Index;

  test("an index entry is picked by os, architecture and variant", () => {
    expect(index.kind).toBe("index");
    expect(selectPlatform(index, parsePlatform("linux/arm64"), "i").digest).toBe(sha256("arm64v8"));
    expect(selectPlatform(index, parsePlatform("linux/arm/v7"), "i").digest).toBe(sha256("armv7"));
    expect(() => selectPlatform(index, parsePlatform("linux/riscv64"), "i")).toThrow(
      'i has no image for platform "linux/riscv64" (it has: linux/amd64, linux/arm/v7, linux/arm64/v8)',
    );
  });

  test("a manifest with a foreign layer type or a bad digest is refused", () => {
    const doc = (layer: object) =>
      new TextEncoder().encode(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256("c"), size: 1 },
          layers: [layer],
        }),
      );
    expect(() =>
      parseManifestOrIndex(doc({ mediaType: "text/plain", digest: sha256("l"), size: 1 }), "m"),
    ).toThrow('m has a layer of unsupported media type "text/plain"');
    expect(() =>
      parseManifestOrIndex(
        doc({ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: "md5:x", size: 1 }),
        "m",
      ),
    ).toThrow('m layers[0] digest "md5:x" is not a sha256 digest');
  });
});

describe("registry helpers", () => {
  test("WWW-Authenticate challenges are parsed", () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
      ),
    ).toEqual({
      scheme: "bearer",
      params: {
        realm: "https://auth.docker.io/token",
        service: "registry.docker.io",
        scope: "repository:library/busybox:pull",
      },
    });
    expect(parseChallenge('Basic realm="x"')?.scheme).toBe("basic");
  });

  test("localhost registries are the insecure convention", () => {
    expect(isLocalhost("localhost:5000")).toBe(true);
    expect(isLocalhost("127.0.0.1:41234")).toBe(true);
    expect(isLocalhost("[::1]:5000")).toBe(true);
    expect(isLocalhost("registry.example.com")).toBe(false);
  });
});

describe("credentials", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(`${tmpdir()}/leopard-img-auth-`);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("login stores base64 user:password, keeps other entries, and logout removes it", () => {
    const f = `${dir}/auth.json`;
    writeFileSync(f, JSON.stringify({ auths: { "other.io": { auth: "eDp5" } }, credHelpers: {} }));
    saveCredentials("r.example:5000", { username: "u", password: "p:w" }, f);
    const j = JSON.parse(readFileSync(f, "utf8"));
    expect(j.auths["other.io"].auth).toBe("eDp5");
    expect(j.credHelpers).toEqual({});
    expect(findCredentials("r.example:5000", f)).toEqual({ username: "u", password: "p:w" });
    expect(findCredentials("other.io", f)).toEqual({ username: "x", password: "y" });
    expect(removeCredentials("r.example:5000", f)).toBe(true);
    expect(findCredentials("r.example:5000", f)).toBeUndefined();
  });

  test("docker hub credentials are found under docker's legacy key", () => {
    const f = `${dir}/config.json`;
    writeFileSync(f, JSON.stringify({ auths: { "https://index.docker.io/v1/": { auth: btoa("me:pw") } } }));
    expect(findCredentials("docker.io", f)).toEqual({ username: "me", password: "pw" });
  });

  test("a credentials file that is not JSON is named in the error", () => {
    writeFileSync(`${dir}/bad.json`, "{");
    expect(() => findCredentials("x.io", `${dir}/bad.json`)).toThrow(
      `credentials file "${dir}/bad.json" is not valid JSON`,
    );
  });
});

describe("progress", () => {
  test("without a terminal it prints one quiet line per layer", () => {
    let out = "";
    const p = new Progress({
      tty: false,
      write: (s) => {
        out += s;
      },
    });
    p.start("abc", 100);
    p.add("abc", 100);
    p.done("abc", "done");
    p.close();
    expect(out).toBe("abc: done\n");
  });

  test("on a terminal it redraws each layer's bytes and speed in place", () => {
    let out = "";
    const p = new Progress({
      tty: true,
      write: (s) => {
        out += s;
      },
    });
    p.start("abc", 2_000_000);
    p.add("abc", 1_000_000);
    p.close();
    expect(out).toContain("abc: downloading 1.0MB/2.0MB");
    expect(out).toContain("\x1b[1A\x1b[J");
  });
});
