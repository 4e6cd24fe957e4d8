// Content digests ("sha256:<64 hex>"): validated once at the edge, then trusted.
import { LeopardError } from "../util/errors.ts";

export type Digest = string & { readonly __digest: unique symbol };

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function isDigest(s: string): s is Digest {
  return DIGEST_RE.test(s);
}

/** Validates s as a sha256 digest; `what` names the thing for the error. */
export function parseDigest(s: unknown, what = "digest"): Digest {
  if (typeof s !== "string" || !isDigest(s)) {
    throw new LeopardError("invalid-argument", `${what} "${String(s)}" is not a sha256 digest`);
  }
  return s;
}

export function hexOf(d: Digest): string {
  return d.slice(7);
}

export function sha256(data: string | Uint8Array): Digest {
  const h = new Bun.CryptoHasher("sha256");
  h.update(data);
  return `sha256:${h.digest("hex")}` as Digest;
}

/** A running sha256 over a stream of chunks. */
export class Hasher {
  readonly #h = new Bun.CryptoHasher("sha256");
  size = 0;
  update(chunk: Uint8Array): void {
    this.#h.update(chunk);
    this.size += chunk.length;
  }
  digest(): Digest {
    return `sha256:${this.#h.digest("hex")}` as Digest;
  }
}

/** Chain IDs as the OCI image spec defines them: ChainID(n) = sha256(ChainID(n-1) + " " + DiffID(n)). */
export function chainIds(diffIds: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? d : sha256(`${prev} ${d}`));
  }
  return out;
}

/** The short id people see: the first 12 hex digits. */
export function shortId(d: string): string {
  return d.replace(/^sha256:/, "").slice(0, 12);
}
