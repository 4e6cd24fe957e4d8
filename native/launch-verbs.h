/* Generated from src/cli/oci-light.ts by src/cli/gen-launch-header.ts. Do not edit. */
#ifndef LEOPARD_LAUNCH_VERBS_H
#define LEOPARD_LAUNCH_VERBS_H

/* leopard-oci's verbs run from a light bundle (VERB_BUNDLES): the verb, the bundle's file
 * under the bundle directory. Ends with {NULL, NULL}. */
static const struct lv_verb_bundle {
  const char *verb;
  const char *bundle;
} lv_verb_bundles[] = {
  {"state", "leopard-oci-light.js"},
  {"kill", "leopard-oci-light.js"},
  {"list", "leopard-oci-light.js"},
  {"ls", "leopard-oci-light.js"},
  {"start", "leopard-oci-life.js"},
  {"delete", "leopard-oci-life.js"},
  {NULL, NULL},
};

/* What the launcher sets in Bun's environment for a leopard-oci call it runs directly, but
 * serve (DIRECT_BUN_ENV), unless the caller set it: name, value, ..., NULL. */
static const char *const lv_direct_env[] = { "BUN_JSC_useJIT", "0", NULL };

#endif
