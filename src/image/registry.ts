// A client for the OCI distribution API: manifests and blobs over HTTPS (or plain HTTP when
// asked, and for localhost as docker's convention has it), anonymous or with credentials,
// answering the WWW-Authenticate challenge (Bearer token or Basic), retrying transient
// failures (network errors, 429, 5xx) with backoff.
//
// Credentials stay with the registry. Redirects are followed here, not by fetch: a hop to
// another origin (scheme, host or port — blob storage, a CDN) goes without the Authorization
// header, whatever the runtime's fetch would do, and a 401 challenge from such a hop is not
// answered. Basic credentials go to a token realm only over https, or over plain http to the
// host of a registry used insecurely (loopback, or --tls-verify=false).
import { describe, LeopardError } from "../util/errors.ts";
import type { Credentials } from "./auth.ts";
import { type BlobPart, type ResumeOptions, resumable } from "./blob-stream.ts";
import { type Digest, sha256 } from "./digest.ts";
import { MT } from "./oci.ts";

export interface RegistryOptions {
  /** false: accept self-signed certificates and fall back to plain http. */
  tlsVerify?: boolean;
  credentials?: Credentials;
  /** Attempts per request, transient failures only. */
  attempts?: number;
  /** host[:port] to talk to instead of the registry's own (a mirror). */
  endpoint?: string;
}

export const MANIFEST_ACCEPT = [MT.ociIndex, MT.ociManifest, MT.dockerList, MT.dockerManifest].join(", ");

export function isLocalhost(host: string): boolean {
  const h = host.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || h.startsWith("127.");
}

/** The endpoint host for a registry name ("docker.io" is served elsewhere). */
export function endpointHost(registry: string): string {
  return registry === "docker.io" ? "registry-1.docker.io" : registry;
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*(\w+)\s*(.*)$/.exec(header);
  if (m === null) return undefined;
  const params: Record<string, string> = {};
  for (const p of (m[2] ?? "").matchAll(/(\w+)\s*=\s*(?:"([^"]*)"|([^,\s]*))/g)) {
    params[(p[1] ?? "").toLowerCase()] = p[2] ?? p[3] ?? "";
  }
  return { scheme: (m[1] ?? "").toLowerCase(), params };
}

class Transient extends Error {}

/** Redirects followed for one request, as fetch's own limit (and Go's http client's). */
const MAX_REDIRECTS = 10;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** A response and the URL that gave it, after redirects. */
interface Answer {
  res: Response;
  url: URL;
}

/**
 * Why Basic credentials must not be sent to the token realm `realm` (an http or https URL) of
 * the registry reached at `host` (host[:port]; `insecure`: loopback or --tls-verify=false), or
 * undefined when they may be: https anywhere, plain http only to that registry's own host when
 * the registry itself is used insecurely.
 */
export function realmRefusal(realm: URL, host: string, insecure: boolean): string | undefined {
  if (realm.protocol === "https:") return undefined;
  const what = `token realm "${realm.href}"`;
  if (realm.hostname !== new URL(`http://${host}`).hostname)
    return `${what} is plain http on another host; refusing to send credentials`;
  if (!insecure)
    return `${what} is plain http for a registry used with TLS verification; refusing to send credentials`;
  return undefined;
}

export class Registry {
  readonly registry: string;
  readonly host: string;
  readonly #opts: RegistryOptions;
  #base: string | undefined;
  /** Authorization header per scope, once a challenge has been answered. */
  readonly #auth = new Map<string, string>();

  constructor(registry: string, opts: RegistryOptions = {}) {
    this.registry = registry;
    this.host = opts.endpoint ?? endpointHost(registry);
    this.#opts = opts;
  }

  /** --tls-verify=false, or a loopback registry unless --tls-verify=true was asked for. */
  get #insecure(): boolean {
    return this.#opts.tlsVerify === false || (this.#opts.tlsVerify === undefined && isLocalhost(this.host));
  }

  /** https, or for insecure registries whichever of https and http answers /v2/. */
  async #baseUrl(): Promise<string> {
    if (this.#base !== undefined) return this.#base;
    if (!this.#insecure) {
      this.#base = `https://${this.host}`;
      return this.#base;
    }
    try {
      await fetch(`https://${this.host}/v2/`, {
        tls: { rejectUnauthorized: false },
        signal: AbortSignal.timeout(5000),
      });
      this.#base = `https://${this.host}`;
    } catch {
      this.#base = `http://${this.host}`;
    }
    return this.#base;
  }

  /**
   * GET url, following redirects: the Authorization header is dropped as soon as a hop leaves
   * the origin of `url` (and stays dropped), so credentials never depend on the runtime's fetch
   * to strip them. 303 and the others alike: every request here is a bodiless GET.
   */
  async #send(url: string, init: { headers: Record<string, string> }): Promise<Answer> {
    const origin = new URL(url).origin;
    let at = new URL(url);
    let headers = init.headers;
    for (let hop = 0; ; hop++) {
      const res = await this.#fetch(at, headers);
      if (!REDIRECTS.has(res.status)) return { res, url: at };
      await res.body?.cancel();
      const location = res.headers.get("location");
      if (location === null)
        throw new LeopardError(
          "protocol",
          `registry "${this.registry}" answered ${res.status} without a Location`,
        );
      if (hop >= MAX_REDIRECTS)
        throw new LeopardError(
          "protocol",
          `registry "${this.registry}" redirected "${url}" more than ${MAX_REDIRECTS} times`,
        );
      at = new URL(location, at);
      if (at.protocol !== "https:" && at.protocol !== "http:")
        throw new LeopardError(
          "protocol",
          `registry "${this.registry}" redirected to "${at.href}", which is not http(s)`,
        );
      if (at.origin !== origin) {
        headers = Object.fromEntries(
          Object.entries(headers).filter(([k]) => k.toLowerCase() !== "authorization"),
        );
      }
    }
  }

  async #fetch(url: URL, headers: Record<string, string>): Promise<Response> {
    try {
      return await fetch(url, {
        headers,
        redirect: "manual",
        ...(this.#insecure ? { tls: { rejectUnauthorized: false } } : {}),
      });
    } catch (e) {
      const code = String((e as { code?: unknown }).code ?? "");
      if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|HOSTNAME_MISMATCH|ALTNAME/.test(code)) {
        // Not transient: retrying will not make the certificate trusted.
        throw new LeopardError(
          "invalid-argument",
          `registry "${this.registry}" presented a certificate that cannot be verified (${code}); use --tls-verify=false for a self-signed registry`,
          { cause: e },
        );
      }
      throw new Transient(`registry "${this.registry}" could not be reached: ${describe(e)}`, { cause: e });
    }
  }

  /**
   * Answers a 401's challenge for scope, when it came from the registry itself (`base`): a
   * challenge from where a redirect led is another server asking for our credentials.
   */
  async #challenge(a: Answer, base: string, scope: string): Promise<boolean> {
    if (a.res.status !== 401 || a.url.origin !== new URL(base).origin) return false;
    if (!(await this.#authorize(a.res, scope))) return false;
    await a.res.body?.cancel();
    return true;
  }

  async #authorize(res: Response, scope: string): Promise<boolean> {
    const ch = parseChallenge(res.headers.get("www-authenticate") ?? "");
    const creds = this.#opts.credentials;
    const basic =
      creds === undefined
        ? undefined
        : `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}`;
    if (ch?.scheme === "basic") {
      if (basic === undefined) return false;
      this.#auth.set(scope, basic);
      return true;
    }
    if (ch?.scheme !== "bearer" || ch.params["realm"] === undefined) return false;
    const realm = ch.params["realm"];
    let u: URL | undefined;
    try {
      u = new URL(realm);
    } catch {
      // not a URL: u stays undefined and the realm is refused below
    }
    if (u === undefined || (u.protocol !== "https:" && u.protocol !== "http:")) {
      throw new LeopardError(
        "protocol",
        `registry "${this.registry}" named the token realm "${realm}", which is not an http(s) URL`,
      );
    }
    const refusal = basic === undefined ? undefined : realmRefusal(u, this.host, this.#insecure);
    if (refusal !== undefined) throw new LeopardError("invalid-argument", refusal);
    if (ch.params["service"] !== undefined) u.searchParams.set("service", ch.params["service"]);
    u.searchParams.set("scope", ch.params["scope"] ?? scope);
    const headers: Record<string, string> = basic === undefined ? {} : { Authorization: basic };
    const { res: r } = await this.#send(u.toString(), { headers });
    if (r.status === 401 || r.status === 403) {
      throw new LeopardError(
        "invalid-argument",
        `registry "${this.registry}" refused the credentials for "${scope}"`,
      );
    }
    if (!r.ok) throw new Transient(`token server "${u.origin}" answered ${r.status}`);
    const j = (await r.json()) as { token?: string; access_token?: string };
    const token = j.token ?? j.access_token;
    if (token === undefined)
      throw new LeopardError("protocol", `token server "${u.origin}" returned no token`);
    this.#auth.set(scope, `Bearer ${token}`);
    return true;
  }

  /** GET with auth and retries; returns a 2xx response (or one with a status in accept) or throws. */
  async get(
    path: string,
    repo: string,
    headers: Record<string, string> = {},
    what = path,
    accept: number[] = [],
  ): Promise<Response> {
    const scope = `repository:${repo}:pull`;
    const attempts = this.#opts.attempts ?? 4;
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await Bun.sleep(200 * 2 ** (i - 1));
      try {
        const base = await this.#baseUrl();
        const url = `${base}${path}`;
        const h = { "Accept-Encoding": "identity", ...headers };
        const auth = this.#auth.get(scope);
        let a = await this.#send(url, { headers: auth === undefined ? h : { ...h, Authorization: auth } });
        if (await this.#challenge(a, base, scope)) {
          a = await this.#send(url, { headers: { ...h, Authorization: this.#auth.get(scope) ?? "" } });
        }
        const res = a.res;
        if (res.ok || accept.includes(res.status)) return res;
        await res.body?.cancel();
        if (res.status === 401 || res.status === 403) {
          throw new LeopardError(
            "invalid-argument",
            `registry "${this.registry}" denied access to ${what}${this.#opts.credentials === undefined ? " (try leopard login)" : ""}`,
          );
        }
        if (res.status === 404)
          throw new LeopardError("not-found", `${what} was not found in registry "${this.registry}"`);
        if (res.status === 429 || res.status >= 500)
          throw new Transient(`registry "${this.registry}" answered ${res.status} for ${what}`);
        throw new LeopardError("protocol", `registry "${this.registry}" answered ${res.status} for ${what}`);
      } catch (e) {
        if (!(e instanceof Transient)) throw e;
        last = e;
      }
    }
    throw new LeopardError("system", (last as Error).message, { cause: last });
  }

  /**
   * A request of push: any method, a body made afresh for each attempt, no redirects followed,
   * credentials for `repository:REPO:pull,push`. `url` is a path or an absolute URL the registry
   * gave (an upload's Location; it must be on the registry's origin). Returns a response whose
   * status is in `accept`, or throws.
   */
  async send(
    method: string,
    url: string,
    repo: string,
    opts: {
      headers?: Record<string, string>;
      body?: () => NonNullable<ConstructorParameters<typeof Response>[0]>;
      accept: number[];
      what: string;
    },
  ): Promise<Response> {
    const scope = `repository:${repo}:pull,push`;
    const attempts = this.#opts.attempts ?? 4;
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await Bun.sleep(200 * 2 ** (i - 1));
      try {
        const base = await this.#baseUrl();
        const at = new URL(url, base);
        if (at.origin !== new URL(base).origin)
          throw new LeopardError(
            "protocol",
            `registry "${this.registry}" sent ${opts.what} to "${at.origin}", another origin`,
          );
        const go = async (): Promise<Response> => {
          const auth = this.#auth.get(scope);
          const headers = { ...(opts.headers ?? {}), ...(auth === undefined ? {} : { Authorization: auth }) };
          try {
            return await fetch(at, {
              method,
              headers,
              redirect: "manual",
              ...(opts.body === undefined ? {} : { body: opts.body() }),
              ...(this.#insecure ? { tls: { rejectUnauthorized: false } } : {}),
            });
          } catch (e) {
            throw new Transient(`registry "${this.registry}" could not be reached: ${describe(e)}`, {
              cause: e,
            });
          }
        };
        let res = await go();
        if (await this.#challenge({ res, url: at }, base, scope)) res = await go();
        if (opts.accept.includes(res.status)) return res;
        const text = await res.text().catch(() => "");
        if (res.status === 401 || res.status === 403) {
          throw new LeopardError(
            "invalid-argument",
            `registry "${this.registry}" denied ${opts.what}${this.#opts.credentials === undefined ? " (no credentials: try leopard login)" : ""}`,
          );
        }
        if (res.status === 429 || res.status >= 500)
          throw new Transient(`registry "${this.registry}" answered ${res.status} for ${opts.what}`);
        throw new LeopardError(
          "protocol",
          `registry "${this.registry}" answered ${res.status} for ${opts.what}${text === "" ? "" : `: ${text.trim().slice(0, 200)}`}`,
        );
      } catch (e) {
        if (!(e instanceof Transient)) throw e;
        last = e;
      }
    }
    throw new LeopardError("system", (last as Error).message, { cause: last });
  }

  /** A manifest or index by tag or digest, verified against the digest when given one. */
  async manifest(
    repo: string,
    reference: string,
  ): Promise<{ bytes: Uint8Array; contentType: string; digest: Digest }> {
    const what = `manifest "${repo}:${reference}"`;
    const res = await this.get(`/v2/${repo}/manifests/${reference}`, repo, { Accept: MANIFEST_ACCEPT }, what);
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.length > 4 * 1024 * 1024)
      throw new LeopardError("invalid-argument", `${what} is larger than 4 MiB`);
    const digest = sha256(bytes);
    if (reference.startsWith("sha256:") && digest !== reference) {
      throw new LeopardError("invalid-argument", `${what} has the wrong content: its digest is "${digest}"`);
    }
    const header = res.headers.get("docker-content-digest");
    if (header?.startsWith("sha256:") && header !== digest) {
      throw new LeopardError(
        "invalid-argument",
        `${what} does not match the digest "${header}" the registry announced`,
      );
    }
    return { bytes, contentType: (res.headers.get("content-type") ?? "").split(";")[0] ?? "", digest };
  }

  /** A blob's bytes from offset on (a Range request), and where the answer really starts. */
  async blobPart(repo: string, digest: Digest, offset = 0): Promise<BlobPart> {
    const what = `blob "${digest}"`;
    const res = await this.get(
      `/v2/${repo}/blobs/${digest}`,
      repo,
      offset > 0 ? { Range: `bytes=${offset}-` } : {},
      what,
      offset > 0 ? [416] : [],
    );
    if (res.status === 416) {
      // Nothing past offset: the blob is shorter than announced, which the caller reports.
      await res.body?.cancel();
      return { body: (async function* () {})(), start: offset };
    }
    if (res.body === null) throw new LeopardError("protocol", `${what} came without a body`);
    if (res.status !== 206) return { body: res.body, start: 0 };
    const m = /^bytes (\d+)-/.exec(res.headers.get("content-range") ?? "");
    if (m === null) {
      await res.body.cancel();
      throw new LeopardError(
        "protocol",
        `registry "${this.registry}" answered 206 for ${what} without a Content-Range`,
      );
    }
    return { body: res.body, start: Number(m[1]) };
  }

  /**
   * A blob's bytes as a stream, resumed with Range requests where the connection breaks; the
   * caller verifies the digest.
   */
  blob(repo: string, digest: Digest, opts: ResumeOptions = {}): AsyncIterable<Uint8Array> {
    return resumable((offset) => this.blobPart(repo, digest, offset), opts);
  }

  /** Checks that credentials work (for login): /v2/ with the challenge answered. */
  async ping(): Promise<void> {
    const base = await this.#baseUrl();
    const url = `${base}/v2/`;
    let a = await this.#send(url, { headers: {} });
    const scope = "registry:catalog:*";
    if (await this.#challenge(a, base, scope))
      a = await this.#send(url, { headers: { Authorization: this.#auth.get(scope) ?? "" } });
    const res = a.res;
    await res.body?.cancel();
    if (res.status === 401 || res.status === 403) {
      throw new LeopardError("invalid-argument", `registry "${this.registry}" refused the credentials`);
    }
    if (!res.ok)
      throw new LeopardError("protocol", `registry "${this.registry}" answered ${res.status} to /v2/`);
  }
}
