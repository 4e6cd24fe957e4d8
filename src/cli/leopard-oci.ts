// leopard-oci: an OCI runtime with runc's command line. Every engine call starts one of these,
// so start-up is the hot path: nothing here loads node:fs, node:util or process.stdout (each
// costs 20-40 ms of CPU in Bun; see src/sys/io.ts), flags are parsed by ./args.ts, and each
// verb's module is imported only when that verb runs.

import { StateDir } from "../state/state.ts";
import { callerPid } from "../sys/caller.ts";
import { writeAll } from "../sys/io.ts";
import { mark } from "../sys/trace.ts";
import { LeopardError } from "../util/errors.ts";
import { findCommand, type Options, type Values } from "./args.ts";
import { CGROUP_VERBS } from "./cgroup-verbs.ts";
import { LIGHT_VERBS } from "./oci-light.ts";
import { GLOBAL_OPTIONS, type Globals, out, main as runMain, type Verbs } from "./oci-main.ts";

export type { Globals, Options, Verb } from "./oci-main.ts";

const CREATE_OPTIONS: Options = {
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

function count(v: Values[string], name: string): number {
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

function createOptions(g: Globals, v: Values, id: string) {
  return {
    id,
    bundle: typeof v["bundle"] === "string" ? v["bundle"] : ".",
    state: new StateDir(g.root),
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

export const VERBS: Verbs = {
  spec: {
    usage: "spec [--rootless] [--hardened] [-b BUNDLE]",
    options: {
      bundle: {
        type: "string",
        short: "b",
        value: "DIR",
        help: "where to write config.json (default: the current directory)",
      },
      rootless: {
        type: "boolean",
        help: "a config for an unprivileged user: a user namespace mapping only your id",
      },
      hardened: {
        type: "boolean",
        help: "docker's defaults: seccomp profile, capabilities, no_new_privs, masked paths",
      },
    },
    args: [],
    async run(_g, v) {
      const { writeSpec } = await import("./spec.ts");
      await writeSpec(
        typeof v["bundle"] === "string" ? v["bundle"] : ".",
        v["rootless"] === true,
        v["hardened"] === true,
      );
      return 0;
    },
  },
  create: {
    usage:
      "create [-b BUNDLE] [--pid-file F] [--console-socket S] [--no-pivot] [--preserve-fds N] [--explain] ID",
    options: CREATE_OPTIONS,
    args: ["id"],
    async run(g, v, [id]) {
      const { create } = await import("../runtime/create.ts");
      await create({ ...createOptions(g, v, id!), mode: "detached" });
      return 0;
    },
  },
  run: {
    usage: "run [-d] [--keep] [create flags] ID",
    options: {
      ...CREATE_OPTIONS,
      detach: { type: "boolean", short: "d", help: "start the container and return; do not wait for it" },
      keep: { type: "boolean", help: "keep the container's state after it exits (delete it yourself)" },
      "no-subreaper": { type: "boolean", help: "accepted for runc compatibility" },
    },
    args: ["id"],
    async run(g, v, [id]) {
      const { run } = await import("../runtime/run.ts");
      return run({ ...createOptions(g, v, id!), detach: v["detach"] === true, keep: v["keep"] === true });
    },
  },
  ...LIGHT_VERBS,
  exec: {
    usage:
      "exec [--process F | -t --cwd D -e K=V -u UID[:GID] -g GID -c CAP --no-new-privs] [-d] [--pid-file F] [--console-socket S] [--preserve-fds N] [--ignore-paused] ID [COMMAND ARGS...]",
    options: {
      process: {
        type: "string",
        short: "p",
        value: "FILE",
        help: "the process to run, as config.json's process object",
      },
      tty: { type: "boolean", short: "t", help: "give the process a terminal" },
      cwd: { type: "string", value: "DIR", help: "the working directory inside the container" },
      env: { type: "string", short: "e", multiple: true, value: "K=V", help: "an environment variable" },
      user: { type: "string", short: "u", value: "UID[:GID]", help: "the user (and group) to run as" },
      "additional-gids": {
        type: "string",
        short: "g",
        multiple: true,
        value: "GID",
        help: "a supplementary group",
      },
      cap: {
        type: "string",
        short: "c",
        multiple: true,
        value: "CAP",
        help: "a capability to add (never inheritable beyond the container's)",
      },
      "no-new-privs": { type: "boolean", help: "set no_new_privs for the process" },
      apparmor: { type: "string", value: "PROFILE", help: "the AppArmor profile for the process" },
      "process-label": { type: "string", value: "LABEL", help: "the SELinux label for the process" },
      detach: { type: "boolean", short: "d", help: "start the process and return; do not wait for it" },
      "pid-file": { type: "string", value: "FILE", help: "write the process's pid to FILE" },
      "console-socket": {
        type: "string",
        value: "SOCKET",
        help: "send the terminal's master fd to this unix socket (with -t)",
      },
      "preserve-fds": { type: "string", value: "N", help: "pass the caller's fds 3 to 3+N-1 to the process" },
      "ignore-paused": { type: "boolean", help: "exec even when the container is paused" },
      cgroup: {
        type: "string",
        multiple: true,
        value: "[CTRL:]PATH",
        help: "run in this sub-cgroup of the container's",
      },
      explain: { type: "boolean", help: "print the plan as shell steps, then each step's time" },
    },
    args: ["id"],
    rest: true,
    async run(g, v, [id], rest) {
      const { execVerb } = await import("./exec.ts");
      return execVerb(g.root, v, id!, rest, count(v["preserve-fds"], "preserve-fds"));
    },
  },
  serve: {
    usage: "serve [--socket PATH] [--workers N] [--idle-exit SECONDS] [--retire-after SECONDS]",
    options: {
      socket: { type: "string", value: "PATH", help: "listen here instead of the default socket" },
      workers: { type: "string", value: "N", help: "warm workers kept idle" },
      "idle-exit": {
        type: "string",
        value: "SECONDS",
        help: "exit after this long without a call (default: never; 300 when socket-activated)",
      },
      "retire-after": { type: "string", value: "SECONDS", help: "stop a surplus worker idle this long" },
    },
    args: [],
    async run(_g, v) {
      return (await import("../serve/supervisor.ts")).serveVerb("leopard-oci", v);
    },
  },
  features: {
    usage: "features",
    options: {},
    args: [],
    async run() {
      const { features, hostSeccompSupport } = await import("../runtime/features.ts");
      await out(`${JSON.stringify(features(await hostSeccompSupport()), null, 4)}\n`);
      return 0;
    },
  },
  ps: {
    usage: "ps [--format table|json] ID [PS OPTIONS...]",
    options: {
      format: {
        type: "string",
        short: "f",
        value: "table|json",
        help: "table (ps's own output) or json (the pids)",
      },
    },
    args: ["id"],
    rest: true,
    async run(g, v, [id], rest) {
      const { psPids, psTable } = await import("../runtime/ps.ts");
      const format = (v["format"] as string | undefined) ?? "table";
      const state = new StateDir(g.root);
      if (format === "json") {
        if (rest.length > 0)
          throw new LeopardError("invalid-argument", "ps options cannot go with --format json");
        await out(`${JSON.stringify(psPids(state, id!))}\n`);
      } else if (format === "table") await out(psTable(state, id!, rest));
      else throw new LeopardError("invalid-argument", `--format "${format}" must be table or json`);
      return 0;
    },
  },
};
Object.assign(VERBS, CGROUP_VERBS);

export function main(argv: readonly string[]): Promise<number> {
  return runMain(argv, VERBS);
}

/** Verbs after which a warm worker may serve again: none holds a terminal or a stream open. */
const REUSABLE = new Set([
  "create",
  "start",
  "run",
  "state",
  "kill",
  "delete",
  "list",
  "ls",
  "exec",
  "ps",
  "pause",
  "resume",
  "update",
  "features",
  "spec",
]);

function reusable(argv: readonly string[]): boolean {
  const at = findCommand(argv, GLOBAL_OPTIONS);
  return at === -1 || REUSABLE.has(argv[at]!);
}

/** What a warm worker of `serve` loads before it waits: the modules of the verbs engines call. */
async function warm(): Promise<void> {
  await Promise.all([
    import("../runtime/create.ts"),
    import("../runtime/run.ts"),
    import("../runtime/lifecycle.ts"),
    import("./exec.ts"),
  ]);
}

if (import.meta.main) {
  mark("cli: loaded");
  const worker = process.env["LEOPARD_SERVE_WORKER"];
  if (worker) {
    const stamp = process.env["LEOPARD_SERVE_STAMP"] ?? "";
    // The first worker of a socket-activated server: its first caller is waiting already.
    const later = process.env["LEOPARD_SERVE_WARM"] === "after";
    (later ? Promise.resolve() : warm())
      .then(() => import("../serve/worker.ts"))
      .then((w) =>
        w.work({ name: worker, stamp, run: main, reusable, afterFirst: later ? warm : undefined }),
      );
  } else main(process.argv.slice(2)).then((code) => process.exit(code));
}
