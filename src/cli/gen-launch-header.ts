// Prints native/launch-verbs.h from oci-light.ts: `bun src/cli/gen-launch-header.ts > native/launch-verbs.h`.
// Which leopard-oci verbs the launcher runs from the light bundle is decided here, by the table
// the light bundle is built from; native/launch.c only looks a verb up in the generated list.
import { LIGHT_VERBS } from "./oci-light.ts";

export function launchHeaderText(): string {
  const names = Object.keys(LIGHT_VERBS).map((n) => JSON.stringify(n));
  return [
    "/* Generated from src/cli/oci-light.ts by src/cli/gen-launch-header.ts. Do not edit. */",
    "#ifndef LEOPARD_LAUNCH_VERBS_H",
    "#define LEOPARD_LAUNCH_VERBS_H",
    "",
    "/* leopard-oci's verbs in leopard-oci-light.js (LIGHT_VERBS), NULL-terminated. */",
    `static const char *const lv_light_verbs[] = { ${[...names, "NULL"].join(", ")} };`,
    "",
    "#endif",
    "",
  ].join("\n");
}

if (import.meta.main) process.stdout.write(launchHeaderText());
