// Prints native/launch-verbs.h from oci-light.ts and serve-dir.ts: `bun src/cli/gen-launch-header.ts > native/launch-verbs.h`.
// Which leopard-oci verbs the launcher runs from which light bundle is decided here, by the table
// the light bundles are built from (VERB_BUNDLES); native/launch.c only looks a verb up in the
// generated list.
import {
  INITIAL_USERNS_INO,
  SYSTEM_SERVE_DIR,
  USER_SERVE_DIR,
  USERNS_DIR_PREFIX,
} from "../serve/serve-dir.ts";
import { DIRECT_BUN_ENV, VERB_BUNDLES } from "./oci-light.ts";

/** [verb, bundle file] for every verb of every light bundle, in VERB_BUNDLES' order. */
export function verbBundles(): [string, string][] {
  return Object.entries(VERB_BUNDLES).flatMap(([bundle, verbs]) =>
    Object.keys(verbs).map((v): [string, string] => [v, `${bundle}.js`]),
  );
}

export function launchHeaderText(): string {
  const rows = verbBundles().map(([v, b]) => `  {${JSON.stringify(v)}, ${JSON.stringify(b)}},`);
  return [
    "/* Generated from src/cli/oci-light.ts by src/cli/gen-launch-header.ts. Do not edit. */",
    "#ifndef LEOPARD_LAUNCH_VERBS_H",
    "#define LEOPARD_LAUNCH_VERBS_H",
    "",
    "/* leopard-oci's verbs run from a light bundle (VERB_BUNDLES): the verb, the bundle's file",
    " * under the bundle directory. Ends with {NULL, NULL}. */",
    "static const struct lv_verb_bundle {",
    "  const char *verb;",
    "  const char *bundle;",
    "} lv_verb_bundles[] = {",
    ...rows,
    "  {NULL, NULL},",
    "};",
    "",
    "/* What the launcher sets in Bun's environment for a leopard-oci call it runs directly, but",
    " * serve (DIRECT_BUN_ENV), unless the caller set it: name, value, ..., NULL. */",
    `static const char *const lv_direct_env[] = { ${[...Object.entries(DIRECT_BUN_ENV).flatMap(([k, v]) => [JSON.stringify(k), JSON.stringify(v)]), "NULL"].join(", ")} };`,
    "",
    "/* The default socket directory's names (src/serve/serve-dir.ts): the host's root's, a user's",
    " * under $XDG_RUNTIME_DIR, a user namespace's inside that, and the initial namespace's inode. */",
    `#define LV_SYSTEM_SERVE_DIR ${JSON.stringify(SYSTEM_SERVE_DIR)}`,
    `#define LV_USER_SERVE_DIR ${JSON.stringify(USER_SERVE_DIR)}`,
    `#define LV_USERNS_DIR_PREFIX ${JSON.stringify(USERNS_DIR_PREFIX)}`,
    `#define LV_INITIAL_USERNS_INO 0x${INITIAL_USERNS_INO.toString(16)}ULL`,
    "",
    "#endif",
    "",
  ].join("\n");
}

if (import.meta.main) process.stdout.write(launchHeaderText());
