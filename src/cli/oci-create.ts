// `leopard-oci create [flags] ID`: makes the container and leaves its process waiting for
// `start`. Its flags and their reading are run's too (oci-run.ts).
import { callerPid } from "../sys/caller.ts";
import { writeAll } from "../sys/io.ts";
import { LeopardError } from "../util/errors.ts";
import type { Options, Values } from "./args.ts";
import type { Globals, Verb } from "./oci-main.ts";

export const CREATE_OPTIONS: Options = {
  bundle: {
    type: "string",
    short: "b",
    value: "DIR",
    help: "the bundle: config.json and the rootfs (default: the current directory)",
  },
  "pid-file": {
    type: "string",
    value: "FILE",
    help: "write the container's pid to FILE (decimal, no newline)",
  },
  "console-socket": {
    type: "string",
    value: "SOCKET",
    help: "send the terminal's master fd to this unix socket (process.terminal)",
  },
  "no-pivot": { type: "boolean", help: "enter the rootfs with MS_MOVE and chroot instead of pivot_root" },
  "no-new-keyring": { type: "boolean", help: "keep the caller's session keyring instead of a fresh one" },
  "preserve-fds": { type: "string", value: "N", help: "pass the caller's fds 3 to 3+N-1 to the container" },
  explain: { type: "boolean", help: "print the launch plan as shell steps, then each step's time" },
};

/** A flag's non-negative integer (--preserve-fds), 0 when not given. */
export function count(v: Values[string], name: string): number {
  if (v === undefined) return 0;
  const n = Number(v);
  if (typeof v !== "string" || !Number.isInteger(n) || n < 0) {
    throw new LeopardError("invalid-argument", `--${name} "${String(v)}" is not a non-negative integer`);
  }
  return n;
}

/** systemd socket activation: LISTEN_FDS extra fds pass through as runc does. */
function listenFds(): number {
  // Only fds meant for this process: systemd names it in LISTEN_PID (go-systemd's check, as runc).
  if (process.env["LISTEN_PID"] !== String(callerPid())) return 0;
  const n = Number(process.env["LISTEN_FDS"] ?? "0");
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/** create's and run's flags as the runtime's options. */
export function createOptions(g: Globals, v: Values, id: string) {
  return {
    id,
    bundle: typeof v["bundle"] === "string" ? v["bundle"] : ".",
    state: g.state,
    pidFile: v["pid-file"] as string | undefined,
    consoleSocket: v["console-socket"] as string | undefined,
    noPivot: v["no-pivot"] === true,
    noNewKeyring: v["no-new-keyring"] === true,
    systemdCgroup: g.systemdCgroup,
    rootless: g.rootless,
    preserveFds: count(v["preserve-fds"], "preserve-fds") + listenFds(),
    listenFds: listenFds(),
    explain: v["explain"] ? (t: string) => writeAll(2, `${t}\n`) : undefined,
  };
}

export const createVerb: Verb = {
  usage:
    "create [-b BUNDLE] [--pid-file F] [--console-socket S] [--no-pivot] [--preserve-fds N] [--explain] ID",
  options: CREATE_OPTIONS,
  args: ["id"],
  async run(g, v, [id]) {
    const { create } = await import("../runtime/create.ts");
    await create({ ...createOptions(g, v, id!), mode: "detached" });
    return 0;
  },
};
