// --systemd-cgroup: the container's cgroup is a transient scope unit that systemd creates and
// owns, as runc's systemd driver makes it. linux.cgroupsPath is "slice:prefix:name" (the unit is
// "prefix-name.scope" in that slice; unset: "system.slice:leopard:<id>"). The scope is started
// with the helper's pid (StartTransientUnit, Delegate=yes, so the subtree and its controllers are
// ours to write) at sync 2, where a cgroupfs container's cgroup is joined. Then, as runc does, the
// same path is made and joined in every hierarchy (on v1 systemd makes the scope only in those of
// the controllers it manages) and the limits are written there as for any cgroup; delete stops
// the unit.
//
// systemd is reached through busctl, systemd's own D-Bus client, on the system bus (where podman
// and runc reach it too): a tool that is there wherever systemd is, rather than a D-Bus library.
// Rootless, as runc's systemd driver does, the user's own manager on the user's bus
// ($DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus): the scope goes in its slice (default
// user.slice), under the manager's own cgroup (/user.slice/user-UID.slice/user@UID.service), the
// subtree systemd delegates to it.
import { readFileSync } from "../sys/fs-sync.ts";
import { SYSTEM_PATH, spawnToolSync } from "../sys/host-tool.ts";
import { LeopardError } from "../util/errors.ts";
import { sharesToWeight } from "./convert.ts";
import type { Resources } from "./resources.ts";

export interface SystemdScope {
  /** The slice unit the scope goes in ("machine.slice"). */
  readonly slice: string;
  /** The scope unit ("libpod-1234.scope"). */
  readonly unit: string;
  /** Its cgroup, from the cgroup2 root ("/machine.slice/libpod-1234.scope"). */
  readonly path: string;
}

export const DEFAULT_SLICE = "system.slice";
/** Rootless (a user's manager): runc's default slice there. */
export const DEFAULT_USER_SLICE = "user.slice";
export const DEFAULT_PREFIX = "leopard";

/** The manager a scope is asked of: the system's, or (rootless) the caller's own user manager. */
export type Bus = "system" | "user";

// Characters systemd allows in a unit name (besides the type suffix).
const UNIT_CHARS = /^[A-Za-z0-9:_.-]+$/;

function bad(given: string, why: string): never {
  throw new LeopardError("invalid-spec", `linux.cgroupsPath ${JSON.stringify(given)} ${why}`);
}

/**
 * A slice's cgroup: systemd nests "a-b-c.slice" as /a.slice/a-b.slice/a-b-c.slice, and "-.slice"
 * is the root. Empty components (a leading, trailing or doubled dash) are not slice names.
 */
export function slicePath(slice: string, given = slice): string {
  if (!slice.endsWith(".slice") || !UNIT_CHARS.test(slice))
    bad(given, `names the slice "${slice}", not a slice unit`);
  const base = slice.slice(0, -".slice".length);
  if (base === "-") return "";
  const parts = base.split("-");
  if (parts.some((p) => p === ""))
    bad(given, `names the slice "${slice}", which has an empty part between dashes`);
  return parts.map((_, i) => `/${parts.slice(0, i + 1).join("-")}.slice`).join("");
}

/**
 * The scope for a container: from "slice:prefix:name", or the default for id. A user manager's
 * scope (rootless) is in its own slice, default user.slice, under `base`, the manager's cgroup.
 */
export function parseSystemdPath(
  cgroupsPath: string | undefined,
  id: string,
  user?: { base: string },
): SystemdScope {
  const given = cgroupsPath ?? "";
  let slice = user === undefined ? DEFAULT_SLICE : DEFAULT_USER_SLICE;
  let prefix = DEFAULT_PREFIX;
  let name = id;
  if (given !== "") {
    const parts = given.split(":");
    if (parts.length !== 3) bad(given, 'is not "slice:prefix:name", the form --systemd-cgroup takes');
    [slice, prefix, name] = parts as [string, string, string];
    if (slice === "") slice = user === undefined ? DEFAULT_SLICE : DEFAULT_USER_SLICE;
  }
  if (name === "" || !UNIT_CHARS.test(name)) bad(given, `has the name "${name}", which is not a unit name`);
  if (prefix !== "" && !UNIT_CHARS.test(prefix))
    bad(given, `has the prefix "${prefix}", which is not a unit name`);
  if (name.endsWith(".slice")) bad(given, "names a slice as the container's unit; leopard makes scopes only");
  const unit = prefix === "" ? `${name}.scope` : `${prefix}-${name}.scope`;
  return { slice, unit, path: `${user?.base ?? ""}${slicePath(slice, given)}/${unit}` };
}

/** Runs busctl with these arguments; returns its stdout, or throws its stderr's first line. */
export type Busctl = (args: string[]) => string;

const MANAGER = ["org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager"];

/** busctl on this bus. */
export function busctlOn(bus: Bus): Busctl {
  return (args) => {
    // The system's directories only, never the caller's PATH (podman's cleanup runs `delete` with a
    // bare environment, too).
    const exe = Bun.which("busctl", { PATH: SYSTEM_PATH });
    if (exe === null)
      throw new LeopardError(
        "unsupported",
        "--systemd-cgroup needs busctl (systemd's D-Bus tool), which is not installed",
      );
    const r = spawnToolSync([exe, `--${bus}`, ...args], { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) {
      const why = r.stderr.toString().trim().split("\n")[0] || `busctl exited ${r.exitCode}`;
      throw new LeopardError("system", bus === "user" ? `${why} (on the user's bus: ${userBus()})` : why);
    }
    return r.stdout.toString();
  };
}

/** Where busctl --user looks for the user's bus (sd_bus_open_user's order), for error messages. */
function userBus(): string {
  const env = process.env;
  if (env["DBUS_SESSION_BUS_ADDRESS"]) return env["DBUS_SESSION_BUS_ADDRESS"];
  if (env["XDG_RUNTIME_DIR"]) return `${env["XDG_RUNTIME_DIR"]}/bus`;
  return "neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR is set";
}

export const busctl: Busctl = busctlOn("system");

/**
 * The user manager's own cgroup ("/user.slice/user-1000.slice/user@1000.service"): its
 * ControlGroup property, as runc's systemd driver asks it.
 */
export function userManagerCgroup(run: Busctl = busctlOn("user")): string {
  let out: string;
  try {
    out = run(["get-property", ...MANAGER, "ControlGroup"]);
  } catch (e) {
    throw failed("--systemd-cgroup rootless needs the user's systemd manager on the user's D-Bus", e);
  }
  // busctl prints a string property as: s "/user.slice/…"
  const m = /^s "(\/[^"]*)"\s*$/.exec(out);
  if (m?.[1] === undefined || m[1] === "/")
    throw new LeopardError("system", `the user's systemd manager names no cgroup of its own (${out.trim()})`);
  return m[1];
}

/** One unit property as busctl takes it: name, D-Bus signature, value(s). */
export type Property = readonly string[];

const INFINITY = "18446744073709551615";

/**
 * The limits systemd itself writes into a unit's cgroup, as the scope's properties. systemd writes
 * a unit's cgroup attributes again whenever it realizes the unit (a property change, some
 * reloads), from the unit's properties: without these it would write its defaults over the
 * limits written by the runtime. runc sets the same ones, with the same conversions.
 */
export function scopeProperties(r: Resources, v2: boolean): Property[] {
  const out: Property[] = [];
  const mem = r.memory?.limit;
  if (mem !== undefined && mem !== 0) out.push(["MemoryMax", "t", mem < 0 ? INFINITY : String(mem)]);
  const pids = r.pids?.limit;
  if (pids !== undefined && pids !== 0) out.push(["TasksMax", "t", pids < 0 ? INFINITY : String(pids)]);
  const shares = r.cpu?.shares;
  if (shares !== undefined && shares !== 0)
    out.push(v2 ? ["CPUWeight", "t", String(sharesToWeight(shares))] : ["CPUShares", "t", String(shares)]);
  const quota = r.cpu?.quota;
  const period = r.cpu?.period;
  if (period !== undefined && period !== 0) out.push(["CPUQuotaPeriodUSec", "t", String(period)]);
  if (quota !== undefined && quota !== 0) {
    if (quota < 0) out.push(["CPUQuotaPerSecUSec", "t", INFINITY]);
    else {
      // systemd keeps the quota per second of CPU time, in steps of 10 ms: rounded up, as runc does.
      let perSec = Math.floor((quota * 1_000_000) / (period || 100_000));
      if (perSec % 10_000 !== 0) perSec = (Math.floor(perSec / 10_000) + 1) * 10_000;
      out.push(["CPUQuotaPerSecUSec", "t", String(perSec)]);
    }
  }
  return out;
}

/** busctl's arguments for StartTransientUnit of the scope with pid in it. */
export function startArgs(
  scope: SystemdScope,
  pid: number,
  description: string,
  limits: readonly Property[] = [],
): string[] {
  const props: Property[] = [
    ["Description", "s", description],
    ["Slice", "s", scope.slice],
    // The subtree is the runtime's: it writes the limits and may make cgroups below.
    ["Delegate", "b", "true"],
    // Only the slice: no ordering against shutdown targets (runc's choice too).
    ["DefaultDependencies", "b", "false"],
    // A scope whose processes failed is still collected, not left behind as "failed".
    ["CollectMode", "s", "inactive-or-failed"],
    ["PIDs", "au", "1", String(pid)],
    ...limits,
  ];
  return [
    "call",
    ...MANAGER,
    "StartTransientUnit",
    "ssa(sv)a(sa(sv))",
    scope.unit,
    "replace",
    String(props.length),
    ...props.flat(),
    "0",
  ];
}

/** A failed call to systemd: what did not happen, then busctl's reason. */
function failed(what: string, e: unknown): LeopardError {
  return new LeopardError("system", `${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

/** Whether systemd has put pid at path: in its own hierarchy (name=systemd on v1) or cgroup2. */
function inCgroup(pid: number, path: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cgroup`, "utf8")
      .split("\n")
      .some((l) => l.endsWith(`:${path}`) && ["", "name=systemd"].includes(l.split(":")[1] ?? "-"));
  } catch {
    return false;
  }
}

/**
 * Makes the scope with pid in it and returns once the kernel shows pid there (systemd answers the
 * call when it has queued the job, not when the job is done).
 */
export function startScope(
  scope: SystemdScope,
  pid: number,
  description: string,
  limits: readonly Property[] = [],
  run: Busctl = busctl,
): void {
  try {
    run(startArgs(scope, pid, description, limits));
  } catch (e) {
    throw failed(`systemd could not create the scope "${scope.unit}"`, e);
  }
  const deadline = Date.now() + 10_000;
  while (!inCgroup(pid, scope.path)) {
    if (Date.now() > deadline) {
      stopScope(scope.unit, run);
      throw new LeopardError(
        "system",
        `systemd did not put the container into its scope "${scope.unit}" within 10 s`,
      );
    }
    Bun.sleepSync(2);
  }
}

/** Stops the scope (and every process left in it); one that is gone already is fine. */
export function stopScope(unit: string, run: Busctl = busctl): void {
  try {
    run(["call", ...MANAGER, "StopUnit", "ss", unit, "replace"]);
  } catch (e) {
    if (e instanceof LeopardError && /not loaded|NoSuchUnit/i.test(e.message)) return;
    throw failed(`systemd could not stop the scope "${unit}"`, e);
  }
}

/** `update` of a container in a scope: the new limits become the scope's properties too. */
export function setScopeProperties(unit: string, limits: readonly Property[], run: Busctl = busctl): void {
  if (limits.length === 0) return;
  try {
    run([
      "call",
      ...MANAGER,
      "SetUnitProperties",
      "sba(sv)",
      unit,
      "true",
      String(limits.length),
      ...limits.flat(),
    ]);
  } catch (e) {
    throw failed(`systemd could not take the new limits of the scope "${unit}"`, e);
  }
}
