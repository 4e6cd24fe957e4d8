// `leopard-oci spec`: write a default config.json into the bundle, refusing to overwrite one.
import { existsSync } from "node:fs";
import { defaultSpec } from "../config/defaults.ts";
import type { SeccompJson } from "../config/json.ts";
import { writeFileAtomic } from "../sys/fs.ts";
import { LeopardError } from "../util/errors.ts";
import { join } from "../util/path.ts";

export async function writeSpec(bundle: string, rootless: boolean, hardened = false): Promise<void> {
  const path = join(bundle, "config.json");
  if (existsSync(path)) throw new LeopardError("exists", `file "${path}" already exists`);
  const spec = hardened
    ? defaultSpec({ rootless, hardened: await hardenedParts() })
    : defaultSpec({ rootless });
  writeFileAtomic(path, `${JSON.stringify(spec, null, "\t")}\n`);
}

/** The default seccomp profile (docker-equivalent, resolved for this machine) and docker's capabilities. */
export async function hardenedParts(): Promise<{ seccomp: SeccompJson; capabilities: readonly string[] }> {
  const { DEFAULT_CAPABILITIES, defaultSeccompJson } = await import("../seccomp/default-profile.ts");
  return { seccomp: defaultSeccompJson() as unknown as SeccompJson, capabilities: DEFAULT_CAPABILITIES };
}
