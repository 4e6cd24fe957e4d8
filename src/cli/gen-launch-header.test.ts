// native/launch-verbs.h is what gen-launch-header.ts prints from VERB_BUNDLES, and launch.c names
// no verb of its own: which verb runs from which light bundle is decided in TypeScript only.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { launchHeaderText, verbBundles } from "./gen-launch-header.ts";
import { DIRECT_BUN_ENV, VERB_BUNDLES } from "./oci-light.ts";

const NATIVE = join(import.meta.dir, "../../native");

test("native/launch-verbs.h is generated from VERB_BUNDLES", () => {
  expect(readFileSync(join(NATIVE, "launch-verbs.h"), "utf8")).toBe(launchHeaderText());
  for (const [bundle, verbs] of Object.entries(VERB_BUNDLES))
    for (const v of Object.keys(verbs)) expect(launchHeaderText()).toContain(`{"${v}", "${bundle}.js"},`);
});

test("each verb of each light bundle has one row, naming its bundle's file", () => {
  expect(verbBundles()).toEqual([
    ["state", "leopard-oci-light.js"],
    ["kill", "leopard-oci-light.js"],
    ["list", "leopard-oci-light.js"],
    ["ls", "leopard-oci-light.js"],
    ["start", "leopard-oci-life.js"],
    ["delete", "leopard-oci-life.js"],
  ]);
});

test("the light bundles' Bun environment is DIRECT_BUN_ENV's, as name, value pairs", () => {
  const pairs = Object.entries(DIRECT_BUN_ENV).flatMap(([k, v]) => [`"${k}"`, `"${v}"`]);
  expect(pairs.length).toBeGreaterThan(0);
  expect(launchHeaderText()).toContain(`lv_direct_env[] = { ${[...pairs, "NULL"].join(", ")} };`);
});

test("launch.c spells no verb name, nor a name of the light bundles' environment, itself", () => {
  const c = readFileSync(join(NATIVE, "launch.c"), "utf8");
  for (const verbs of Object.values(VERB_BUNDLES))
    for (const v of Object.keys(verbs)) expect(c).not.toContain(`"${v}"`);
  for (const k of Object.keys(DIRECT_BUN_ENV)) expect(c).not.toContain(k);
});
