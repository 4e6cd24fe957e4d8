// leopard-oci's light entry point: state, kill and list, bundled without the rest
// (build/cli/leopard-oci-light.js), so that these calls load a fraction of the CLI. The launcher
// runs it only for those verbs (oci-light.ts's VERB_BUNDLES); src/cli/leopard-oci.ts is the
// whole CLI.
import { mark } from "../sys/trace.ts";
import { LIGHT_VERBS } from "./oci-light-verbs.ts";
import { main } from "./oci-main.ts";

if (import.meta.main) {
  mark("cli: loaded");
  main(process.argv.slice(2), LIGHT_VERBS).then((code) => process.exit(code));
}
