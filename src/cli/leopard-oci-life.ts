// leopard-oci's lifecycle entry point: start and delete, bundled without the rest
// (build/cli/leopard-oci-life.js). The launcher runs it only for those verbs (oci-light.ts's
// VERB_BUNDLES); src/cli/leopard-oci.ts is the whole CLI.
import { autostart } from "../serve/autostart.ts";
import { mark } from "../sys/trace.ts";
import { findCommand } from "./args.ts";
import { LIFE_VERBS } from "./oci-life.ts";
import { GLOBAL_OPTIONS, main } from "./oci-main.ts";

if (import.meta.main) {
  mark("cli: loaded");
  const argv = process.argv.slice(2);
  main(argv, LIFE_VERBS).then((code) => {
    // A direct `start` in a user namespace of its own (rootless podman) starts that namespace's
    // server (src/serve/autostart.ts).
    autostart(argv[findCommand(argv, GLOBAL_OPTIONS)] ?? "", code);
    process.exit(code);
  });
}
