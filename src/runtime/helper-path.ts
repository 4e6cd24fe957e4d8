// Where the compiled helper lives: native/build/leopard-helper in this checkout, or $LEOPARD_HELPER.
import { fileURLToPath } from "node:url";

export function helperPath(): string {
  return (
    process.env["LEOPARD_HELPER"] ??
    fileURLToPath(new URL("../../native/build/leopard-helper", import.meta.url))
  );
}
