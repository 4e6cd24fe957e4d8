/* Generated from src/cli/oci-light.ts by src/cli/gen-launch-header.ts. Do not edit. */
#ifndef LEOPARD_LAUNCH_VERBS_H
#define LEOPARD_LAUNCH_VERBS_H

/* leopard-oci's verbs in leopard-oci-light.js (LIGHT_VERBS), NULL-terminated. */
static const char *const lv_light_verbs[] = { "start", "state", "kill", "delete", "list", "ls", NULL };

#endif
