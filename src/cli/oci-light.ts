// The verbs engines call most, run from bundles of their own rather than the whole CLI: the
// launcher (native/launch.c) picks a verb's bundle from VERB_BUNDLES, through the table
// gen-launch-header.ts generates into native/launch-verbs.h. Each verb is a file of its own
// (oci-*.ts); leopard-oci.ts has them all among the rest.
//   leopard-oci-light.js  state, kill, list: reads of the state directory and a signal; no
//                         cgroup manager (kill --all's part, cgroup-ops.js, is loaded beside
//                         it only when needed), no hooks, no pidfds
//   leopard-oci-life.js   start and delete (hooks, sd_notify; delete loads cgroup-ops.js when a
//                         cgroup still has processes or the container has a systemd scope)
import { LIFE_VERBS } from "./oci-life.ts";
import { LIGHT_VERBS } from "./oci-light-verbs.ts";
import type { Verbs } from "./oci-main.ts";

export { LIFE_VERBS } from "./oci-life.ts";
export { LIGHT_VERBS } from "./oci-light-verbs.ts";

/**
 * What the light bundles leave out, as `bun build --external` patterns (the Makefile passes the
 * same): kill's and delete's cgroup part, a bundle of its own (cgroup-ops.js) found beside them at
 * run time.
 */
export const LIGHT_EXTERNAL = ["*/cgroup-ops.js"] as const;

/**
 * The environment the launcher gives Bun for every leopard-oci call it runs directly (light bundles
 * and the whole CLI; not `serve`, whose workers live long enough for the JIT to pay off), unless
 * the caller set it: JavaScriptCore's interpreters only, no JIT. These calls run for milliseconds,
 * too short for JIT-compiled code to pay off, and the JIT's compiler threads compete with the call
 * for the CPU. A direct `state` of a missing id, 50 interleaved runs at load ~9: CPU time median
 * 25.0 ms without, 31.6 ms with. A direct `run` of /bin/true, 15 interleaved runs at load ~5: CPU
 * 69.4 ms without, 115.3 ms with; wall time 93.0 against 149.9 ms. Nothing they run inherits it:
 * the helper execs the container's process with the config's environment, hooks get their own.
 * The engine (bin/leopard) keeps the JIT: its direct calls unpack and hash layers in JavaScript.
 */
export const DIRECT_BUN_ENV: Readonly<Record<string, string>> = { BUN_JSC_useJIT: "0" };

/** Each light bundle (build/cli/<name>.js, from src/cli/<name>.ts) and the verbs it runs. */
export const VERB_BUNDLES: Readonly<Record<string, Verbs>> = {
  "leopard-oci-light": LIGHT_VERBS,
  "leopard-oci-life": LIFE_VERBS,
};
