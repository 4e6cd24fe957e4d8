// leopard-oci's command line without its verbs: global flags, the verb's flags and positionals,
// errors as one line (and to --log), exit statuses. The full CLI (leopard-oci.ts) and the light
// one (leopard-oci-light.ts: the verbs an engine calls most, in a bundle of their own) both run
// it with their own table of verbs.
import {
  type CallerIdentity,
  callerIdentity,
  checkRootlessFlag,
  defaultStateRoot,
  rootlessMode,
} from "../state/rootless.ts";
import { StateDir } from "../state/state.ts";
import { writeAll } from "../sys/io.ts";
import { describe, LeopardError } from "../util/errors.ts";
import { findCommand, type Options, parseFlags, type Values } from "./args.ts";
import { VERSION } from "./version.ts";

export type { Options } from "./args.ts";

/**
 * Writes to stdout with write(2): process.stdout is a node stream (~40 ms to load), and
 * Bun.write(Bun.stdout) truncates stdout when it is a regular file.
 */
export async function out(text: string): Promise<void> {
  writeAll(1, text);
}

export interface Globals {
  root: string;
  /** The container states under root. */
  state: StateDir;
  log: string | undefined;
  logFormat: "text" | "json";
  debug: boolean;
  systemdCgroup: boolean;
  /** runc's rootless mode (--rootless, default auto: not the host's root), src/state/rootless.ts. */
  rootless: boolean;
}

export interface Verb {
  usage: string;
  options: Options;
  /** Positional arguments: names, a trailing "?" marks an optional one. */
  args: string[];
  /** Everything after the positional args is passed through unparsed (exec's command, ps's options). */
  rest?: boolean;
  run(g: Globals, v: Values, a: string[], rest: string[]): Promise<number | undefined> | number | undefined;
}

export const GLOBAL_OPTIONS: Options = {
  root: {
    type: "string",
    value: "DIR",
    help: "where container state lives (default /run/leopard; $XDG_RUNTIME_DIR/leopard when rootless)",
  },
  log: { type: "string", value: "FILE", help: "also write errors to FILE" },
  "log-format": { type: "string", value: "text|json", help: "the format of --log's lines (json: runc's)" },
  debug: { type: "boolean", help: "log more (accepted for runc compatibility)" },
  "systemd-cgroup": {
    type: "boolean",
    help: "make the container's cgroup a systemd scope (cgroupsPath slice:prefix:name)",
  },
  rootless: {
    type: "string",
    value: "true|false|auto",
    help: "rootless mode (auto: when not the host's root, or uid 0 in a user namespace)",
  },
  criu: {
    type: "string",
    value: "PATH",
    help: "accepted for runc compatibility (checkpoint is not supported)",
  },
  version: { type: "boolean", short: "v", help: "print the version and the runtime-spec version" },
  help: { type: "boolean", short: "h", help: "print this help" },
};

/** `--help` lines for a set of options: the flag, its value's name and what it does. */
export function optionLines(options: Options): string[] {
  const rows = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : "    "}--${name}${o.type === "string" ? ` ${o.value ?? "VALUE"}` : ""}`;
    return [flag, `${o.help ?? ""}${o.multiple ? " (repeatable)" : ""}`] as const;
  });
  const w = Math.max(0, ...rows.map(([f]) => f.length));
  return rows.map(([f, h]) => `  ${f.padEnd(w)}  ${h}`);
}

export type Verbs = Record<string, Verb>;

function usage(VERBS: Verbs): string {
  return [
    "usage: leopard-oci [--root DIR] [--log FILE] [--log-format text|json] [--debug] COMMAND [ARGS]",
    "",
    ...Object.entries(VERBS)
      .filter(([n]) => n !== "ls")
      .map(([, v]) => `  ${v.usage}`),
    "",
    "global flags:",
    ...optionLines(GLOBAL_OPTIONS),
    "",
    "leopard-oci COMMAND --help describes each flag of COMMAND.",
    "",
  ].join("\n");
}

let where = "";

function logError(g: Globals | undefined, msg: string): void {
  if (!g?.log) return;
  const time = new Date().toISOString();
  const line =
    g.logFormat === "json"
      ? `${JSON.stringify({ level: "error", msg, time })}\n`
      : `time="${time}" level=error msg="${msg.replaceAll('"', '\\"')}"\n`;
  try {
    (require("node:fs") as typeof import("node:fs")).appendFileSync(g.log, line);
  } catch {
    // --log cannot be written: the error still goes to stderr.
  }
}

export async function main(argv: readonly string[], VERBS: Verbs): Promise<number> {
  let g: Globals | undefined;
  where = "";
  try {
    // Global flags come before the verb, as with runc.
    const at = findCommand(argv, GLOBAL_OPTIONS);
    const gv = parseFlags(at === -1 ? argv : argv.slice(0, at), GLOBAL_OPTIONS).values;
    const logFormat = (gv["log-format"] as string | undefined) ?? "text";
    // Read when first needed (/proc/self/uid_map): state, kill and list with --root, as engines
    // call them, never need it.
    let who: CallerIdentity | undefined;
    const identity = (): CallerIdentity => {
      who ??= callerIdentity();
      return who;
    };
    const givenRoot = gv["root"] as string | undefined;
    const rootlessFlag = checkRootlessFlag(gv["rootless"] as string | undefined);
    let root: string | undefined;
    let rootless: boolean | undefined;
    let state: StateDir | undefined;
    g = {
      // Worked out when a verb first needs it: `spec` and --version run without XDG_RUNTIME_DIR.
      get root(): string {
        root ??= givenRoot ?? defaultStateRoot(process.env, identity());
        return root;
      },
      get state(): StateDir {
        state ??= new StateDir(this.root);
        return state;
      },
      log: gv["log"] as string | undefined,
      logFormat: logFormat === "json" ? "json" : "text",
      debug: gv["debug"] === true,
      systemdCgroup: gv["systemd-cgroup"] === true,
      get rootless(): boolean {
        rootless ??= rootlessMode(rootlessFlag, identity());
        return rootless;
      },
    };
    if (logFormat !== "text" && logFormat !== "json")
      throw new LeopardError("invalid-argument", `--log-format "${logFormat}" must be text or json`);
    if (gv["version"]) {
      await out(VERSION);
      return 0;
    }
    if (at === -1 || gv["help"]) {
      await out(usage(VERBS));
      return at !== -1 || gv["help"] ? 0 : 1;
    }
    const name = argv[at]!;
    const verb = Object.hasOwn(VERBS, name) ? VERBS[name] : undefined;
    if (!verb) throw new LeopardError("invalid-argument", `unknown command "${name}"`);
    where = name;
    // runc stops reading flags after the container id of exec and ps: `exec ID sh -c x` passes -c to sh.
    const parsed = parseFlags(
      argv.slice(at + 1),
      { ...verb.options, help: { type: "boolean", short: "h" } },
      verb.rest ? { stopAfter: verb.args.length } : {},
    );
    if (parsed.values["help"]) {
      const lines = optionLines({
        ...verb.options,
        help: { type: "boolean", short: "h", help: "print this help" },
      });
      await out(`usage: leopard-oci ${verb.usage}\n\n${lines.join("\n")}\n`);
      return 0;
    }
    const required = verb.args.filter((a) => !a.endsWith("?")).length;
    const pos = parsed.positionals;
    if (pos[0] !== undefined && verb.args[0] === "id") where = `${name} ${pos[0]}`;
    if (pos.length < required)
      throw new LeopardError("invalid-argument", `missing container id: usage: leopard-oci ${verb.usage}`);
    if (pos.length > verb.args.length)
      throw new LeopardError(
        "invalid-argument",
        `unexpected argument "${pos[verb.args.length]}": usage: leopard-oci ${verb.usage}`,
      );
    return (await verb.run(g, parsed.values, pos, parsed.rest)) ?? 0;
  } catch (err) {
    const msg = describe(err);
    let text = `leopard-oci: ${where ? `${where}: ` : ""}${msg}\n`;
    logError(g, msg);
    if (g?.debug && err instanceof Error && !(err instanceof LeopardError)) text += `${err.stack}\n`;
    try {
      writeAll(2, text);
    } catch {
      // stderr is closed: the exit status still says the command failed.
    }
    return 1;
  }
}
