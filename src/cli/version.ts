// `--version` in runc's line format, which clients parse.
import { OCI_VERSION } from "../state/state.ts";

export const LEOPARD_VERSION = "0.1.0";
export const VERSION = `leopard-oci version ${LEOPARD_VERSION}\nspec: ${OCI_VERSION}\n`;
