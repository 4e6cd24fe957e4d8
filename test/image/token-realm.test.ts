// Basic credentials go to a token realm only over https, or over plain http to the host of a
// registry that is itself used insecurely (loopback, or named with --tls-verify=false). A
// registry whose WWW-Authenticate challenge names a plain-http realm on another host would
// otherwise have the user's password sent in the clear to wherever it likes.
//
// A fake registry on 127.0.0.1 (Bun.serve) answers every request without a token with a Bearer
// challenge whose realm is a token server on another port of 127.0.0.1 (the same host) or on
// 127.0.0.2 (another host); the token servers record what they receive.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { MT } from "../../src/image/oci.ts";
import { pull } from "../../src/image/pull.ts";
import { Registry } from "../../src/image/registry.ts";
import { Store } from "../../src/image/store.ts";
import { type BuiltImage, buildImage, tempDir } from "./harness.ts";

const text = (s: string) => new TextEncoder().encode(s);
const USER = "leo";
const PASS = "realm-s3cret";
const BASIC = `Basic ${Buffer.from(`${USER}:${PASS}`).toString("base64")}`;
const TOKEN = "realm-test-token";
const REPO = "sec/img";

let work: string;
let layout: string;
let img: BuiltImage;
let registry: ReturnType<typeof Bun.serve>;
let sameHostRealm: ReturnType<typeof Bun.serve>;
let otherHostRealm: ReturnType<typeof Bun.serve>;
let realm = "";
const realmSeen: { host: string; authorization: string | null }[] = [];

function tokenServer(hostname: string): ReturnType<typeof Bun.serve> {
  return Bun.serve({
    hostname,
    port: 0,
    fetch(req) {
      const authorization = req.headers.get("authorization");
      realmSeen.push({ host: new URL(req.url).host, authorization });
      // Anonymous pulls get a token too (a public repository).
      if (authorization !== null && authorization !== BASIC) return new Response("no", { status: 401 });
      return Response.json({ token: TOKEN });
    },
  });
}

beforeAll(async () => {
  work = tempDir("realm");
  layout = `${work}/layout`;
  img = await buildImage(layout, [{ entries: [{ name: "hello", type: "file", data: text("realm ok") }] }]);
  sameHostRealm = tokenServer("127.0.0.1");
  otherHostRealm = tokenServer("127.0.0.2");
  registry = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const u = new URL(req.url);
      if (req.headers.get("authorization") !== `Bearer ${TOKEN}`) {
        return new Response("unauthorized", {
          status: 401,
          headers: { "WWW-Authenticate": `Bearer realm="${realm}",service="leopard-test"` },
        });
      }
      if (u.pathname === "/v2/") return new Response("{}");
      const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(u.pathname);
      const ref = m?.[3] === "1" ? img.manifestDigest : (m?.[3] ?? "");
      try {
        const bytes = readFileSync(`${layout}/blobs/sha256/${ref.replace(/^sha256:/, "")}`);
        const type = m?.[2] === "manifests" ? MT.ociManifest : "application/octet-stream";
        return new Response(bytes, { headers: { "Content-Type": type } });
      } catch {
        return new Response("no", { status: 404 });
      }
    },
  });
  writeFileSync(
    `${work}/auth.json`,
    JSON.stringify({ auths: { [`127.0.0.1:${registry.port}`]: { auth: btoa(`${USER}:${PASS}`) } } }),
  );
});

afterAll(() => {
  registry?.stop(true);
  sameHostRealm?.stop(true);
  otherHostRealm?.stop(true);
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

async function pullWith(opts: { authfile: string; tlsVerify?: boolean }): Promise<string> {
  const dir = `${work}/store`;
  mkdirSync(dir, { recursive: true });
  const store = new Store(dir);
  try {
    const image = await pull(store, `127.0.0.1:${registry.port}/${REPO}:1`, {
      ...opts,
      embeddedFallback: false,
    });
    return await Bun.file(`${store.snapshotPath(image.chain[0]!)}/hello`).text();
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("a plain-http token realm on another host", () => {
  test("gets no credentials from a pull, which fails naming the realm", async () => {
    realm = `http://127.0.0.2:${otherHostRealm.port}/token`;
    realmSeen.length = 0;
    await expect(pullWith({ authfile: `${work}/auth.json` })).rejects.toThrow(
      `token realm "${realm}" is plain http on another host; refusing to send credentials`,
    );
    expect(realmSeen).toEqual([]);
  });

  test("gets no credentials from leopard login (--tls-verify=false) either", async () => {
    realm = `http://127.0.0.2:${otherHostRealm.port}/token`;
    realmSeen.length = 0;
    const reg = new Registry(`127.0.0.1:${registry.port}`, {
      tlsVerify: false,
      credentials: { username: USER, password: PASS },
    });
    await expect(reg.ping()).rejects.toThrow(
      `token realm "${realm}" is plain http on another host; refusing to send credentials`,
    );
    expect(realmSeen).toEqual([]);
  });

  test("still serves an anonymous pull: there are no credentials to leak", async () => {
    realm = `http://127.0.0.2:${otherHostRealm.port}/token`;
    realmSeen.length = 0;
    expect(await pullWith({ authfile: `${work}/none.json` })).toBe("realm ok");
    expect(realmSeen.length).toBeGreaterThan(0);
    expect(realmSeen.filter((s) => s.authorization !== null)).toEqual([]);
  });
});

describe("a plain-http token realm on the insecure registry's own host", () => {
  test("gets the credentials for a loopback registry", async () => {
    realm = `http://127.0.0.1:${sameHostRealm.port}/token`;
    realmSeen.length = 0;
    expect(await pullWith({ authfile: `${work}/auth.json` })).toBe("realm ok");
    expect(realmSeen.map((s) => s.authorization)).toContain(BASIC);
  });

  test("gets the credentials for a registry named with --tls-verify=false", async () => {
    realm = `http://127.0.0.1:${sameHostRealm.port}/token`;
    realmSeen.length = 0;
    expect(await pullWith({ authfile: `${work}/auth.json`, tlsVerify: false })).toBe("realm ok");
    expect(realmSeen.map((s) => s.authorization)).toContain(BASIC);
  });
});
