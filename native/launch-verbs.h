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

/* The default socket directory's names (src/serve/serve-dir.ts): the host's root's, a user's
 * under $XDG_RUNTIME_DIR, a user namespace's inside that, and the initial namespace's inode. */
#define LV_SYSTEM_SERVE_DIR "/run/leopard-serve"
#define LV_USER_SERVE_DIR "leopard-serve"
#define LV_USERNS_DIR_PREFIX "userns-"
#define LV_INITIAL_USERNS_INO 0xeffffffdULL

#endif
