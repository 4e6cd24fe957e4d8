// Capability names → the bitmask the helper passes to capset and prctl.
import { CAPABILITIES } from "../config/capabilities.ts";
import { LeopardError } from "../util/errors.ts";

/** The mask of the named capabilities; names the running kernel does not know (> last) are left out. */
export function capabilityMask(names: readonly string[], last: number): bigint {
  let mask = 0n;
  for (const name of names) {
    const n = CAPABILITIES.indexOf(name);
    if (n < 0) throw new LeopardError("invalid-spec", `unknown capability "${name}"`);
    if (n <= last) mask |= 1n << BigInt(n);
  }
  return mask;
}
