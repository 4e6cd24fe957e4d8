// For tests that read the project's own code: its production sources (no tests, no test helpers
// such as testing.ts, no fakes).
import { readdirSync } from "node:fs";
import { join } from "node:path";

/** Every production .ts file under dir, by its absolute path. */
export function productionSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => join(e.parentPath, e.name))
    .filter((p) => !/\.test\.ts$|\/testing\.ts$|\/fake\.ts$/.test(p));
}
