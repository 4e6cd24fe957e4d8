// Credentials never follow a redirect to another origin. A registry may answer a GET (usually a
// blob's) with a redirect to storage elsewhere; the Authorization header — Basic credentials or
// the Bearer token they bought — must stay behind when that is another host or another port.
// The client follows redirects itself (src/image/registry.ts) rather than trusting the runtime's
// fetch to drop the header; these tests would also catch a Bun that stopped dropping it, were
// the client ever to go back to fetch's own redirects.
//
// A fake registry on 127.0.0.1 (Bun.serve) wants credentials for every manifest and blob, and
// answers an authenticated GET with a redirect (301, 302, 303, 307, 308) to a storage server on
// another port of 127.0.0.1 or on 127.0.0.2, which serves the content and records what it got.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { MT } from "../../src/image/oci.ts";
import { pull } from "../../src/image/pull.ts";
import { Store } from "../../src/image/store.ts";
import { type BuiltImage, buildImage, tempDir } from "./harness.ts";

const text = (s: string) => new TextEncoder().encode(s);
const USER = "leo";
const PASS = "redirect-s3cret";
const BASIC = `Basic ${Buffer.from(`${USER}:${PASS}`).toString("base64")}`;
const TOKEN = "Bearer the-token-for-tests";
const REPO = "sec/img";

type Scheme = "basic" | "bearer";
interface Seen {
  path: string;
  authorization: string | null;
}

let work: string;
let layout: string;
let img: BuiltImage;
/** What the registry does with an authenticated GET: redirect with `code` to `target`. */
const plan: { scheme: Scheme; code: number; target: string } = { scheme: "basic", code: 302, target: "" };
let registry: ReturnType<typeof Bun.serve>;
let samehost: ReturnType<typeof Bun.serve>;
let otherhost: ReturnType<typeof Bun.serve>;
const registrySeen: Seen[] = [];
const storageSeen: Seen[] = [];
/**
 * Storage that asks for credentials of its own (with a realm of its own) for blobs: by then the
 * client holds credentials for the registry and sends them on its first try.
 */
let greedy = false;

/** Serves manifests by tag or digest and blobs by digest from the layout, like storage would. */
function content(path: string): Response {
  const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path);
  if (m === null || m[1] !== REPO) return new Response("no", { status: 404 });
  const ref = m[3] === "1" ? img.manifestDigest : (m[3] ?? "");
  let bytes: Buffer;
  try {
    bytes = readFileSync(`${layout}/blobs/sha256/${ref.replace(/^sha256:/, "")}`);
  } catch {
    return new Response("no", { status: 404 });
  }
  const type = m[2] === "manifests" ? MT.ociManifest : "application/octet-stream";
  return new Response(bytes, { headers: { "Content-Type": type } });
}

function storage(hostname: string): ReturnType<typeof Bun.serve> {
  return Bun.serve({
    hostname,
    port: 0,
    fetch(req) {
      const u = new URL(req.url);
      storageSeen.push({ path: u.pathname, authorization: req.headers.get("authorization") });
      if (u.pathname === "/greedy-token") return Response.json({ token: "stolen" });
      if (greedy && u.pathname.includes("/blobs/")) {
        return new Response("who are you", {
          status: 401,
          headers: { "WWW-Authenticate": `Bearer realm="http://${u.host}/greedy-token",service="x"` },
        });
      }
      return content(u.pathname.replace(/^\/storage/, ""));
    },
  });
}

beforeAll(async () => {
  work = tempDir("redirect");
  layout = `${work}/layout`;
  img = await buildImage(layout, [{ entries: [{ name: "hello", type: "file", data: text("redirected") }] }]);
  samehost = storage("127.0.0.1");
  otherhost = storage("127.0.0.2");
  registry = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const u = new URL(req.url);
      const authorization = req.headers.get("authorization");
      registrySeen.push({ path: u.pathname, authorization });
      if (u.pathname === "/token") {
        if (authorization !== BASIC) return new Response("bad credentials", { status: 401 });
        return Response.json({ token: TOKEN.slice("Bearer ".length) });
      }
      const challenge =
        plan.scheme === "basic"
          ? 'Basic realm="leopard-test"'
          : `Bearer realm="http://${u.host}/token",service="leopard-test"`;
      const wanted = plan.scheme === "basic" ? BASIC : TOKEN;
      if (authorization !== wanted) {
        return new Response("unauthorized", { status: 401, headers: { "WWW-Authenticate": challenge } });
      }
      if (u.pathname === "/v2/") return new Response("{}");
      return new Response(null, {
        status: plan.code,
        headers: { Location: `${plan.target}/storage${u.pathname}` },
      });
    },
  });
  writeFileSync(
    `${work}/auth.json`,
    JSON.stringify({ auths: { [`127.0.0.1:${registry.port}`]: { auth: btoa(`${USER}:${PASS}`) } } }),
  );
});

afterAll(() => {
  registry?.stop(true);
  samehost?.stop(true);
  otherhost?.stop(true);
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

async function pullThrough(name: string): Promise<string> {
  const dir = `${work}/store-${name}`;
  mkdirSync(dir, { recursive: true });
  const store = new Store(dir);
  try {
    const image = await pull(store, `127.0.0.1:${registry.port}/${REPO}:1`, {
      authfile: `${work}/auth.json`,
      embeddedFallback: false,
    });
    return await Bun.file(`${store.snapshotPath(image.chain[0]!)}/hello`).text();
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const targets = [
  { what: "another port", url: () => `http://127.0.0.1:${samehost.port}` },
  { what: "another host", url: () => `http://127.0.0.2:${otherhost.port}` },
];

for (const scheme of ["basic", "bearer"] as const) {
  describe(`${scheme} credentials stay with the registry`, () => {
    for (const code of [301, 302, 303, 307, 308]) {
      for (const target of targets) {
        test(`a ${code} to ${target.what} is followed without the Authorization header`, async () => {
          Object.assign(plan, { scheme, code, target: target.url() });
          greedy = false;
          registrySeen.length = 0;
          storageSeen.length = 0;
          expect(await pullThrough(`${scheme}-${code}`)).toBe("redirected");
          // The registry did get the credentials: the redirects really came after authentication.
          const wanted = scheme === "basic" ? BASIC : TOKEN;
          expect(registrySeen.some((s) => s.authorization === wanted)).toBe(true);
          // Manifest, config and layer all came from storage, and none of them with credentials.
          expect(storageSeen.length).toBeGreaterThanOrEqual(3);
          expect(storageSeen.filter((s) => s.authorization !== null)).toEqual([]);
        });
      }
    }
  });
}

describe("a redirect target that asks for credentials", () => {
  for (const scheme of ["basic", "bearer"] as const) {
    test(`gets none (${scheme}), and the pull fails cleanly`, async () => {
      Object.assign(plan, { scheme, code: 307, target: `http://127.0.0.2:${otherhost.port}` });
      greedy = true;
      registrySeen.length = 0;
      storageSeen.length = 0;
      try {
        await expect(pullThrough(`greedy-${scheme}`)).rejects.toThrow(
          `registry "127.0.0.1:${registry.port}" denied access to blob "sha256:`,
        );
      } finally {
        greedy = false;
      }
      expect(storageSeen.length).toBeGreaterThan(0);
      expect(storageSeen.filter((s) => s.authorization !== null)).toEqual([]);
      expect(storageSeen.filter((s) => s.path === "/greedy-token")).toEqual([]);
    });
  }
});
