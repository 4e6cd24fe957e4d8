// One linux.resources.devices rule, as config.json and `update --resources` both give it.
import { at, boolean, fail, integer, object, oneOf, opt, orList, quote, req, string } from "./read.ts";
import { DEVICE_RULE_TYPES, type DeviceRule } from "./types.ts";

/** Every field but allow is optional in the spec; unset means "all", as for type, major and minor: "rwm". */
export function readDeviceRule(v: unknown, field: string): DeviceRule {
  const o = object(v, field);
  // -1 is how runc's Go types spell "any"; accept it alongside leaving the field out.
  const num = (e: unknown, f: string): number | undefined => {
    const n = integer(e, f, -1, 0xffff_ffff);
    return n === -1 ? undefined : n;
  };
  const access = opt(o, "access", field, string) ?? "rwm";
  if (!/^[rwm]+$/.test(access)) fail(at(field, "access"), `${quote(access)} must combine "r", "w" and "m"`);
  return {
    allow: req(o, "allow", field, boolean),
    type:
      opt(o, "type", field, (e, f) =>
        oneOf(e, f, DEVICE_RULE_TYPES, "a device rule type", orList(DEVICE_RULE_TYPES)),
      ) ?? "a",
    major: opt(o, "major", field, num),
    minor: opt(o, "minor", field, num),
    access,
  };
}
