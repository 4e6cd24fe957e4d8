// native/launch-verbs.h is what gen-launch-header.ts prints from LIGHT_VERBS, and launch.c names
// no verb of its own: the light verbs are decided in TypeScript only.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { launchHeaderText } from "./gen-launch-header.ts";
import { LIGHT_VERBS } from "./oci-light.ts";

const NATIVE = join(import.meta.dir, "../../native");

test("native/launch-verbs.h is generated from LIGHT_VERBS", () => {
  expect(readFileSync(join(NATIVE, "launch-verbs.h"), "utf8")).toBe(launchHeaderText());
  for (const v of Object.keys(LIGHT_VERBS)) expect(launchHeaderText()).toContain(`"${v}"`);
});

test("launch.c spells no verb name itself", () => {
  const c = readFileSync(join(NATIVE, "launch.c"), "utf8");
  for (const v of Object.keys(LIGHT_VERBS)) expect(c).not.toContain(`"${v}"`);
});
