// Image references as docker spells them: [registry/]repo[:tag][@digest]. "busybox" means
// "docker.io/library/busybox:latest"; a first component with a "." or ":" or "localhost" is a
// registry host.
import { LeopardError } from "../util/errors.ts";
import { type Digest, parseDigest } from "./digest.ts";

export interface Reference {
  /** Registry host[:port], e.g. "docker.io", "127.0.0.1:5000". */
  registry: string;
  /** Repository path within the registry, e.g. "library/busybox". */
  repository: string;
  tag?: string;
  digest?: Digest;
}

export const DEFAULT_REGISTRY = "docker.io";
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export function parseReference(input: string): Reference {
  const bad = (why: string) => new LeopardError("invalid-argument", `image reference "${input}" ${why}`);
  let rest = input;
  let digest: Digest | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = parseDigest(rest.slice(at + 1), `digest in image reference "${input}"`);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`has an invalid tag "${tag}"`);
  }
  const parts = rest.split("/");
  let registry = DEFAULT_REGISTRY;
  const first = parts[0] ?? "";
  if (parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost")) {
    registry = first;
    parts.shift();
  }
  if (registry === "index.docker.io" || registry === "registry-1.docker.io") registry = DEFAULT_REGISTRY;
  if (parts.length === 0 || parts.some((p) => !COMPONENT.test(p)))
    throw bad("has an invalid repository name");
  if (registry === DEFAULT_REGISTRY && parts.length === 1) parts.unshift("library");
  const ref: Reference = { registry, repository: parts.join("/") };
  if (tag === undefined && digest === undefined) tag = "latest";
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** The repository as a full name: "docker.io/library/busybox". */
export function repoName(r: Reference): string {
  return `${r.registry}/${r.repository}`;
}

/** The canonical string form: "docker.io/library/busybox:latest" (tag, else digest). */
export function formatReference(r: Reference): string {
  if (r.tag !== undefined) return `${repoName(r)}:${r.tag}`;
  return `${repoName(r)}@${r.digest ?? ""}`;
}

/** The short form people type: "busybox:latest", "127.0.0.1:5000/x:1". */
export function familiarName(full: string): string {
  return full.replace(/^docker\.io\/library\//, "").replace(/^docker\.io\//, "");
}
