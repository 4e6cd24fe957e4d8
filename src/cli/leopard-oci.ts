// leopard-oci: an OCI runtime with runc's command line. Every engine call starts one of these,
// so start-up is the hot path: nothing here loads node:fs, node:util or process.stdout (each
// costs 20-40 ms of CPU in Bun; see src/sys/io.ts), flags are parsed by ./args.ts, and each
// verb's module is imported only when that verb runs. The driver (global flags, --help, errors)
// is oci-main.ts; each verb, its flags with their help and its run, is a file: oci-<verb>.ts.

import { firstCallBy } from "../serve/first-call.ts";
import { mark } from "../sys/trace.ts";
import { findCommand } from "./args.ts";
import { createVerb } from "./oci-create.ts";
import { deleteVerb } from "./oci-delete.ts";
import { eventsVerb } from "./oci-events.ts";
import { execVerb } from "./oci-exec.ts";
import { featuresVerb } from "./oci-features.ts";
import { killVerb } from "./oci-kill.ts";
import { listVerb } from "./oci-list.ts";
import { GLOBAL_OPTIONS, main as runMain, type Verbs } from "./oci-main.ts";
import { pauseVerb } from "./oci-pause.ts";
import { psVerb } from "./oci-ps.ts";
import { resumeVerb } from "./oci-resume.ts";
import { runVerb } from "./oci-run.ts";
import { serveVerb } from "./oci-serve.ts";
import { specVerb } from "./oci-spec.ts";
import { startVerb } from "./oci-start.ts";
import { stateVerb } from "./oci-state.ts";
import { updateVerb } from "./oci-update.ts";

export type { Globals, Options, Verb } from "./oci-main.ts";

/**
 * Every verb, one file each (oci-<verb>.ts), in the order `--help` lists them; the light bundles
 * run some of these same objects (oci-light.ts).
 */
export const VERBS: Verbs = {
  spec: specVerb,
  create: createVerb,
  run: runVerb,
  start: startVerb,
  state: stateVerb,
  kill: killVerb,
  delete: deleteVerb,
  list: listVerb,
  ls: listVerb,
  exec: execVerb,
  serve: serveVerb,
  features: featuresVerb,
  ps: psVerb,
  pause: pauseVerb,
  resume: resumeVerb,
  update: updateVerb,
  events: eventsVerb,
};

export function main(argv: readonly string[]): Promise<number> {
  return runMain(argv, VERBS);
}

/** Verbs after which a warm worker may serve again: none holds a terminal or a stream open. */
const REUSABLE = new Set([
  "create",
  "start",
  "run",
  "state",
  "kill",
  "delete",
  "list",
  "ls",
  "exec",
  "ps",
  "pause",
  "resume",
  "update",
  "features",
  "spec",
]);

function reusable(argv: readonly string[]): boolean {
  const at = findCommand(argv, GLOBAL_OPTIONS);
  return at === -1 || REUSABLE.has(argv[at]!);
}

/** What a warm worker of `serve` loads before it waits: the modules of the verbs engines call. */
async function warm(): Promise<void> {
  await Promise.all([
    import("../runtime/create.ts"),
    import("../runtime/run.ts"),
    import("../runtime/lifecycle.ts"),
    import("./exec.ts"),
  ]);
}

if (import.meta.main) {
  mark("cli: loaded");
  const worker = process.env["LEOPARD_SERVE_WORKER"];
  if (worker) {
    const stamp = process.env["LEOPARD_SERVE_STAMP"] ?? "";
    warm()
      .then(() => import("../serve/worker.ts"))
      .then((w) => w.work({ name: worker, stamp, run: main, reusable }));
  } else {
    // `serve` socket-activated serves the call that started it with this CLI (src/serve/first-call.ts).
    firstCallBy((name, stamp) => ({ name, stamp, run: main, reusable }));
    main(process.argv.slice(2)).then((code) => process.exit(code));
  }
}
