// Helpers for the validation tests: runc's default config.json with changes, and the message
// validateSpec throws for it.
import { defaultSpec } from "./defaults.ts";
import { SpecError } from "./errors.ts";
import { validateSpec } from "./validate.ts";

export const BUNDLE = "/run/bundles/c1";

/** A path into a JSON document: "linux.namespaces[2].type". */
function tokens(path: string): (string | number)[] {
  return path
    .split(/\.|(?=\[)/)
    .map((t) => (t.startsWith("[") ? Number(t.slice(1, -1)) : t))
    .filter((t) => t !== "");
}

/** runc's default config.json (or `base`) with each `path: value` set; undefined deletes the key. */
export function config(patch: Record<string, unknown> = {}, base: unknown = defaultSpec()): unknown {
  const doc: unknown = structuredClone(base);
  for (const [path, value] of Object.entries(patch)) {
    const keys = tokens(path);
    let node = doc as Record<string | number, unknown>;
    for (const k of keys.slice(0, -1)) {
      if (node[k] === undefined) node[k] = {};
      node = node[k] as Record<string | number, unknown>;
    }
    const last = keys.at(-1) as string | number;
    if (value === undefined) {
      if (Array.isArray(node) && typeof last === "number") node.splice(last, 1);
      else delete node[last];
    } else {
      node[last] = structuredClone(value);
    }
  }
  return doc;
}

/** The message validateSpec throws for `raw`. */
export function rejection(raw: unknown): string {
  try {
    validateSpec(raw, { bundle: BUNDLE });
  } catch (err) {
    if (err instanceof SpecError) return err.message;
    throw err;
  }
  throw new Error("validateSpec accepted it");
}

/** A new user namespace mapping 65536 ids from 100000 on the host. */
export const USERNS = {
  "linux.namespaces[5]": { type: "user" },
  "linux.uidMappings": [{ containerID: 0, hostID: 100000, size: 65536 }],
  "linux.gidMappings": [{ containerID: 0, hostID: 100000, size: 65536 }],
};

/** No uts namespace (runc's default has it at index 3). */
export const NO_UTS = { "linux.namespaces[3]": undefined };

/** [what is wrong, the config.json, the message validateSpec throws] */
export type Row = [string, unknown, string];
