// `leopard-oci spec`: write a default config.json into the bundle, refusing to overwrite one.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { defaultSpec } from "../spec/defaults.ts";
import { writeFileAtomic } from "../sys/fs.ts";
import { LeopardError } from "../util/errors.ts";

export function writeSpec(bundle: string, rootless: boolean): void {
  const path = join(bundle, "config.json");
  if (existsSync(path)) throw new LeopardError("exists", `file "${path}" already exists`);
  writeFileAtomic(path, `${JSON.stringify(defaultSpec({ rootless }), null, "\t")}\n`);
}
