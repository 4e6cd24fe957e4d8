// Read <bundle>/config.json and validate it: the only I/O in src/config.

import { readFileSync } from "../sys/fs-sync.ts";
import { errnoNumber, strerror } from "../util/errno.ts";
import { describe } from "../util/errors.ts";
import { join, resolve } from "../util/path.ts";
import { SpecError } from "./errors.ts";
import type { Spec } from "./types.ts";
import { validateSpec } from "./validate.ts";

/** Load and validate the bundle's config.json; `bundle` may be relative to the working directory. */
export function loadSpec(bundle: string): Spec {
  const dir = resolve(bundle);
  const path = join(dir, "config.json");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    const errno = errnoNumber(code);
    const sentence =
      code === "ENOENT"
        ? `not found in the bundle ${JSON.stringify(dir)}`
        : `cannot be read: ${errno === undefined ? describe(err) : strerror(errno)}`;
    throw new SpecError("", sentence, { cause: err, path });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new SpecError("", `not valid JSON: ${describe(err)}`, { cause: err, path });
  }
  return validateSpec(raw, { bundle: dir });
}
