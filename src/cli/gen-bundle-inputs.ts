// Prints the checkout's sources a bundle is built from, one path per line relative to the
// checkout (src/...): `bun src/cli/gen-bundle-inputs.ts src/cli/leopard-oci.ts > build/cli/leopard-oci.js.inputs`
// (more entries: the union, for a bundle that starts another one, as leopard.js its unpack worker).
// The launcher (native/launch.c), run from a checkout, stats exactly these files to tell whether
// the bundle is older than its sources (then it runs the TypeScript instead): the list is
// written at build time, so no call walks the source tree, and an edit to a file the bundle does
// not contain (a test, another CLI's code) does not make it stale. The bundler knows the inputs;
// Bun's CLI has no metafile, so they are read from a source map of a second, throwaway build.
// An installed tree has no sources and no list: nothing is looked at there.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { LeopardError } from "../util/errors.ts";
import { join, relative, resolve } from "../util/path.ts";

const TOP = resolve(import.meta.dir, "../..");

/** The src/ files of the map's sources (paths relative to outdir), sorted, without node_modules. */
export function sourcesOf(sources: readonly string[], outdir: string, top: string): string[] {
  const files = sources
    .map((s) => relative(top, resolve(outdir, s)))
    .filter((p) => p.startsWith("src/") && !p.includes("/../"));
  return [...new Set(files)].sort();
}

export async function bundleInputs(entry: string): Promise<string[]> {
  const outdir = mkdtempSync(join(tmpdir(), "leopard-inputs-"));
  try {
    const r = await Bun.build({ entrypoints: [entry], target: "bun", outdir, sourcemap: "external" });
    if (!r.success)
      throw new LeopardError("invalid-argument", `bundling "${entry}" failed: ${r.logs.join("; ")}`);
    const map = readdirSync(outdir).find((f) => f.endsWith(".js.map"));
    if (map === undefined) throw new LeopardError("system", `bundling "${entry}" made no source map`);
    const { sources } = JSON.parse(readFileSync(join(outdir, map), "utf8")) as { sources: string[] };
    return sourcesOf(sources, outdir, TOP);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const entries = process.argv.slice(2);
  if (entries.length === 0)
    throw new LeopardError("invalid-argument", "usage: gen-bundle-inputs.ts ENTRY...");
  const all = new Set((await Promise.all(entries.map(bundleInputs))).flat());
  process.stdout.write(`${[...all].sort().join("\n")}\n`);
}
