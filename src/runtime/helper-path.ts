// Where the compiled helper lives: $LEOPARD_HELPER (the launcher sets it), else beside the
// bundles when installed (lib/leopard/leopard-helper), else the checkout's native/build.

import { existsSync } from "../sys/fs-sync.ts";
import { bundleDir } from "../util/layout.ts";
import { join } from "../util/path.ts";

export function helperPath(): string {
  const set = process.env["LEOPARD_HELPER"];
  if (set !== undefined) return set;
  const installed = join(bundleDir(), "leopard-helper");
  return existsSync(installed) ? installed : join(bundleDir(), "../../native/build/leopard-helper");
}
