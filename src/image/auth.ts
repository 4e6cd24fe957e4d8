// Registry credentials: the files podman and docker use, read in their order, and
// `leopard login` writing podman's auth.json ({"auths": {host: {"auth": base64(user:pass)}}}).
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { writeFileAtomic } from "../sys/fs.ts";
import { LeopardError } from "../util/errors.ts";
import { dirname } from "../util/path.ts";

export interface Credentials {
  username: string;
  password: string;
}

const DOCKER_HUB_KEYS = [
  "docker.io",
  "index.docker.io",
  "registry-1.docker.io",
  "https://index.docker.io/v1/",
];

/** Where `leopard login` writes: $REGISTRY_AUTH_FILE, else podman's per-user auth.json. */
export function defaultAuthFile(): string {
  const env = process.env["REGISTRY_AUTH_FILE"];
  if (env) return env;
  const run = process.env["XDG_RUNTIME_DIR"];
  if (run) return `${run}/containers/auth.json`;
  return `${process.env["XDG_CONFIG_HOME"] || `${homedir()}/.config`}/containers/auth.json`;
}

/** Files searched for credentials, first match wins. */
export function authFiles(explicit?: string): string[] {
  if (explicit !== undefined) return [explicit];
  const out = [defaultAuthFile()];
  const cfg = process.env["XDG_CONFIG_HOME"] || `${homedir()}/.config`;
  out.push(`${cfg}/containers/auth.json`);
  out.push(`${process.env["DOCKER_CONFIG"] || `${homedir()}/.docker`}/config.json`);
  return [...new Set(out)];
}

interface AuthFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string }>;
  [k: string]: unknown;
}

function readAuthFile(path: string): AuthFile {
  if (!existsSync(path)) return {};
  try {
    const j = JSON.parse(readFileSync(path, "utf8")) as unknown;
    if (typeof j !== "object" || j === null || Array.isArray(j))
      throw new LeopardError("invalid-argument", "not an object");
    return j as AuthFile;
  } catch (e) {
    throw new LeopardError("invalid-argument", `credentials file "${path}" is not valid JSON`, {
      cause: e,
      path,
    });
  }
}

function keysFor(registry: string): string[] {
  return registry === "docker.io" ? DOCKER_HUB_KEYS : [registry, `https://${registry}`, `http://${registry}`];
}

function decode(entry: { auth?: string; username?: string; password?: string }): Credentials | undefined {
  if (entry.username !== undefined && entry.password !== undefined)
    return { username: entry.username, password: entry.password };
  if (entry.auth === undefined) return undefined;
  const s = Buffer.from(entry.auth, "base64").toString("utf8");
  const colon = s.indexOf(":");
  if (colon < 0) return undefined;
  return { username: s.slice(0, colon), password: s.slice(colon + 1) };
}

export function findCredentials(registry: string, explicitFile?: string): Credentials | undefined {
  for (const f of authFiles(explicitFile)) {
    const auths = readAuthFile(f).auths ?? {};
    for (const k of keysFor(registry)) {
      const e = auths[k] ?? auths[`${k}/`];
      const c = e === undefined ? undefined : decode(e);
      if (c !== undefined) return c;
    }
  }
  return undefined;
}

/** Stores credentials for registry (other entries and keys kept). */
export function saveCredentials(registry: string, c: Credentials, file = defaultAuthFile()): void {
  const j = readAuthFile(file);
  const auths = { ...(j.auths ?? {}) };
  auths[registry] = { auth: Buffer.from(`${c.username}:${c.password}`).toString("base64") };
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileAtomic(file, `${JSON.stringify({ ...j, auths }, null, 2)}\n`, 0o600);
}

export function removeCredentials(registry: string, file = defaultAuthFile()): boolean {
  const j = readAuthFile(file);
  if (j.auths?.[registry] === undefined) return false;
  const auths = { ...j.auths };
  delete auths[registry];
  writeFileAtomic(file, `${JSON.stringify({ ...j, auths }, null, 2)}\n`, 0o600);
  return true;
}
