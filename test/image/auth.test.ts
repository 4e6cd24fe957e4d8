// Registry authentication against real registries: htpasswd basic auth (leopard login,
// auth.json, docker's config.json) and the bearer-token challenge flow with a token server.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { pull } from "../../src/image/pull.ts";
import { Store } from "../../src/image/store.ts";
import {
  buildImage,
  freePort,
  leopardCmd,
  type RunningRegistry,
  requireTools,
  run,
  skopeo,
  skopeoAsync,
  startRegistry,
  tempDir,
  tokenIssuer,
  writeLayout,
} from "./harness.ts";

const text = (s: string) => new TextEncoder().encode(s);
const USER = "leo";
const PASS = "s3cret-pass";

let basic: RunningRegistry;
let tokenReg: RunningRegistry;
let tokenServer: ReturnType<typeof Bun.serve>;
const tokenRequests: string[] = [];
let work: string;

beforeAll(async () => {
  requireTools("docker-registry", "skopeo", "htpasswd", "openssl");
  work = tempDir("authtest");
  const layout = `${work}/layout`;
  const img = await buildImage(layout, [
    { entries: [{ name: "hello", type: "file", data: text("auth works") }] },
  ]);
  writeLayout(layout, [{ tag: "t", images: [img] }]);

  basic = await startRegistry({ htpasswd: { user: USER, password: PASS } });
  skopeo(
    "copy",
    "--dest-tls-verify=false",
    "--dest-creds",
    `${USER}:${PASS}`,
    `oci:${layout}:t`,
    `docker://${basic.host}/private/img:1`,
  );

  const issuer = tokenIssuer(work);
  const tport = await freePort();
  const service = "leopard-test-registry";
  const iss = "leopard-test-issuer";
  tokenServer = Bun.serve({
    hostname: "127.0.0.1",
    port: tport,
    fetch(req) {
      const u = new URL(req.url);
      const scope = u.searchParams.getAll("scope").join(" ");
      tokenRequests.push(scope);
      return Response.json({ token: issuer.sign(scope, u.searchParams.get("service") ?? service, iss) });
    },
  });
  tokenReg = await startRegistry({
    token: { realm: `http://127.0.0.1:${tport}/token`, service, issuer: iss, certPath: issuer.certPath },
  });
  await skopeoAsync(
    "copy",
    "--dest-tls-verify=false",
    `oci:${layout}:t`,
    `docker://${tokenReg.host}/tok/img:1`,
  );
}, 60_000);

afterAll(async () => {
  await basic?.stop();
  await tokenReg?.stop();
  tokenServer?.stop(true);
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

function storeDir(name: string): string {
  const d = `${work}/${name}`;
  mkdirSync(d, { recursive: true });
  return d;
}

/** Environment that keeps the user's own credential files out of the test. */
function isolated(extra: Record<string, string> = {}): Record<string, string> {
  return {
    REGISTRY_AUTH_FILE: `${work}/none.json`,
    DOCKER_CONFIG: `${work}/no-docker`,
    XDG_CONFIG_HOME: `${work}/no-xdg`,
    ...extra,
  };
}

describe("basic auth (htpasswd)", () => {
  test("an anonymous pull is denied with a hint to log in", () => {
    const r = run(leopardCmd(storeDir("anon"), "pull", `${basic.host}/private/img:1`), { env: isolated() });
    expect(r.code).toBe(1);
    expect(r.err).toContain(`registry "${basic.host}" denied access`);
    expect(r.err).toContain("try leopard login");
  });

  test("leopard login refuses a wrong password, stores a right one, and pull uses it", () => {
    const authfile = `${work}/auth.json`;
    let r = run(
      leopardCmd(storeDir("x"), "login", "-u", USER, "-p", "wrong", "--authfile", authfile, basic.host),
      {
        env: isolated(),
      },
    );
    expect(r.code).toBe(1);
    expect(r.err).toContain("refused the credentials");
    r = run(
      leopardCmd(storeDir("x"), "login", "-u", USER, "--password-stdin", "--authfile", authfile, basic.host),
      {
        env: isolated(),
        stdin: `${PASS}\n`,
      },
    );
    expect(r.err).toBe("");
    expect(r.out).toBe("Login Succeeded\n");
    const saved = JSON.parse(readFileSync(authfile, "utf8"));
    expect(Buffer.from(saved.auths[basic.host].auth, "base64").toString()).toBe(`${USER}:${PASS}`);
    const dir = storeDir("logged-in");
    r = run(leopardCmd(dir, "pull", "-q", "--authfile", authfile, `${basic.host}/private/img:1`), {
      env: isolated(),
    });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    r = run(leopardCmd(dir, "logout", "--authfile", authfile, basic.host), { env: isolated() });
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(authfile, "utf8")).auths[basic.host]).toBeUndefined();
  });

  test("credentials in docker's config.json are used", () => {
    const docker = `${work}/docker-config`;
    mkdirSync(docker, { recursive: true });
    const auth = Buffer.from(`${USER}:${PASS}`).toString("base64");
    writeFileSync(`${docker}/config.json`, JSON.stringify({ auths: { [basic.host]: { auth } } }));
    const r = run(leopardCmd(storeDir("docker"), "pull", "-q", `${basic.host}/private/img:1`), {
      env: isolated({ DOCKER_CONFIG: docker }),
    });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
  });
});

describe("TLS", () => {
  test("a self-signed loopback registry is used over https; --tls-verify=true refuses its certificate", async () => {
    const tls = await startRegistry({ tls: true });
    try {
      const layout = `${work}/layout`;
      await skopeoAsync(
        "copy",
        "--dest-tls-verify=false",
        `oci:${layout}:t`,
        `docker://${tls.host}/sec/img:1`,
      );
      const dir = storeDir("tls");
      const store = new Store(dir);
      try {
        await expect(pull(store, `${tls.host}/sec/img:1`, { tlsVerify: true })).rejects.toThrow(
          `registry "${tls.host}" presented a certificate that cannot be verified`,
        );
        const img = await pull(store, `${tls.host}/sec/img:1`);
        expect(await Bun.file(`${store.snapshotPath(img.chain[0]!)}/hello`).text()).toBe("auth works");
      } finally {
        store.close();
      }
      expect(readFileSync(`${tls.dir}/registry.log`, "utf8")).toContain("GET /v2/sec/img/manifests/1");
    } finally {
      await tls.stop();
    }
  }, 30_000);
});

describe("bearer tokens", () => {
  test("a pull answers the WWW-Authenticate challenge with a token for the repository", async () => {
    const dir = storeDir("token");
    const store = new Store(dir);
    try {
      tokenRequests.length = 0;
      const img = await pull(store, `${tokenReg.host}/tok/img:1`, { authfile: `${work}/none.json` });
      expect(await Bun.file(`${store.snapshotPath(img.chain[0]!)}/hello`).text()).toBe("auth works");
      expect(tokenRequests).toContain("repository:tok/img:pull");
      // One token serves every request of the pull.
      expect(tokenRequests.length).toBe(1);
    } finally {
      store.close();
    }
  }, 30_000);
});
