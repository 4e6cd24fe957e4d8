// leopard-oci's lifecycle entry point: start and delete, bundled without the rest
// (build/cli/leopard-oci-life.js). The launcher runs it only for those verbs (oci-light.ts's
// VERB_BUNDLES); src/cli/leopard-oci.ts is the whole CLI.
import { mark } from "../sys/trace.ts";
import { LIFE_VERBS } from "./oci-life.ts";
import { main } from "./oci-main.ts";

if (import.meta.main) {
  mark("cli: loaded");
  main(process.argv.slice(2), LIFE_VERBS).then((code) => process.exit(code));
}
