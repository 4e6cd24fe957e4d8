import { expect, test } from "bun:test";
import { join } from "node:path";
import { bundleInputs, sourcesOf } from "./gen-bundle-inputs.ts";

test("a source map's sources become checkout paths under src/, once each, sorted; node_modules left out", () => {
  expect(
    sourcesOf(
      [
        "../../top/src/sys/libc.ts",
        "../../top/node_modules/tar/index.js",
        "../../top/src/a.ts",
        "../../top/src/a.ts",
      ],
      "/tmp/out",
      "/top",
    ),
  ).toEqual(["src/a.ts", "src/sys/libc.ts"]);
});

test("the light bundle's inputs: its entry and what it imports, no test and nothing of the engine", async () => {
  const inputs = await bundleInputs(join(import.meta.dir, "leopard-oci-light.ts"));
  expect(inputs).toContain("src/cli/leopard-oci-light.ts");
  expect(inputs).toContain("src/sys/libc.ts");
  expect(inputs.filter((p) => p.endsWith(".test.ts"))).toEqual([]);
  expect(inputs.filter((p) => p.startsWith("src/engine/") || p.startsWith("src/build/"))).toEqual([]);
});
