// devices: which device nodes the container may read, write or mknod.
//
// The rules are OCI's: in order, a later rule overriding an earlier one. v1 writes each to
// devices.allow or devices.deny; v2 has no such files and compiles the same list to an eBPF
// program (./devices-bpf.ts) attached to the cgroup (../bpf.ts).
import type { DeviceRule } from "../../config/types.ts";
import { writeCg } from "../files.ts";

const rule = (type: "c" | "b", major: number, minor: number | undefined): DeviceRule => ({
  allow: true,
  type,
  major,
  minor,
  access: "rwm",
});

/**
 * Devices every container may use whatever its rules say, as runc allows them: mknod of any
 * node (opening it is still checked), null, zero, full, random, urandom, tty, console, ptmx
 * and the pty slaves.
 */
export const DEFAULT_ALLOWED_DEVICES: readonly DeviceRule[] = [
  { allow: true, type: "c", major: undefined, minor: undefined, access: "m" },
  { allow: true, type: "b", major: undefined, minor: undefined, access: "m" },
  rule("c", 1, 3),
  rule("c", 1, 5),
  rule("c", 1, 7),
  rule("c", 1, 8),
  rule("c", 1, 9),
  rule("c", 5, 0),
  rule("c", 5, 1),
  rule("c", 5, 2),
  rule("c", 136, undefined),
];

/**
 * The rules a container's cgroup gets: its linux.resources.devices, then the default devices, as
 * runc orders them. A node of linux.devices gets no rule of its own: the access its
 * linux.resources.devices rule grants is all it has (`docker run --device /dev/loop0:/dev/lp:r`
 * sends `b 7:0 r`, and a write open must fail).
 */
export function containerDeviceRules(rules: readonly DeviceRule[]): DeviceRule[] {
  return [...rules, ...DEFAULT_ALLOWED_DEVICES];
}

/** "c 1:3 rwm", "a *:* rwm" — the v1 devices.allow/deny syntax. */
export function v1RuleLine(r: DeviceRule): string {
  const n = (x: number | undefined): string => (x === undefined ? "*" : String(x));
  return `${r.type} ${n(r.major)}:${n(r.minor)} ${r.access}`;
}

/**
 * Writes the rules in order. A list that starts with anything but "deny all" starts from the
 * parent's set (usually everything allowed), as the OCI rules mean.
 */
export function setDevicesV1(dir: string, rules: readonly DeviceRule[]): void {
  for (const r of rules) writeCg(dir, r.allow ? "devices.allow" : "devices.deny", v1RuleLine(r));
}
