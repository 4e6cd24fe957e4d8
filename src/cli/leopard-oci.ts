// leopard-oci: an OCI runtime with runc's command line. Every engine call starts one of these,
// so start-up is the hot path: nothing here loads node:fs, node:util or process.stdout (each
// costs 20-40 ms of CPU in Bun; see src/sys/io.ts), flags are parsed by ./args.ts, and each
// verb's module is imported only when that verb runs.

import { DEFAULT_ROOT, StateDir } from "../state/state.ts";
import { callerPid } from "../sys/caller.ts";
import { writeAll } from "../sys/io.ts";
import { mark } from "../sys/trace.ts";
import { describe, LeopardError } from "../util/errors.ts";
import { findCommand, type Options, parseFlags, type Values } from "./args.ts";
import { CGROUP_VERBS } from "./cgroup-verbs.ts";
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
  log: string | undefined;
  logFormat: "text" | "json";
  debug: boolean;
  systemdCgroup: boolean;
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

const GLOBAL_OPTIONS: Options = {
  root: { type: "string" },
  log: { type: "string" },
  "log-format": { type: "string" },
  debug: { type: "boolean" },
  "systemd-cgroup": { type: "boolean" },
  rootless: { type: "string" },
  criu: { type: "string" },
  version: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
};

const CREATE_OPTIONS: Options = {
  bundle: { type: "string", short: "b" },
  "pid-file": { type: "string" },
  "console-socket": { type: "string" },
  "no-pivot": { type: "boolean" },
  "no-new-keyring": { type: "boolean" },
  "preserve-fds": { type: "string" },
  explain: { type: "boolean" },
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
    preserveFds: count(v["preserve-fds"], "preserve-fds") + listenFds(),
    listenFds: listenFds(),
    explain: v["explain"] ? (t: string) => writeAll(2, `${t}\n`) : undefined,
  };
}

const VERBS: Record<string, Verb> = {
  spec: {
    usage: "spec [--rootless] [--hardened] [-b BUNDLE]",
    options: {
      bundle: { type: "string", short: "b" },
      rootless: { type: "boolean" },
      hardened: { type: "boolean" },
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
      detach: { type: "boolean", short: "d" },
      keep: { type: "boolean" },
      "no-subreaper": { type: "boolean" },
    },
    args: ["id"],
    async run(g, v, [id]) {
      const { run } = await import("../runtime/run.ts");
      return run({ ...createOptions(g, v, id!), detach: v["detach"] === true, keep: v["keep"] === true });
    },
  },
  start: {
    usage: "start ID",
    options: {},
    args: ["id"],
    async run(g, _v, [id]) {
      const { start } = await import("../runtime/lifecycle.ts");
      start(new StateDir(g.root), id!);
      return 0;
    },
  },
  state: {
    usage: "state ID",
    options: {},
    args: ["id"],
    async run(g, _v, [id]) {
      const { stateOf } = await import("../runtime/lifecycle.ts");
      await out(`${JSON.stringify(stateOf(new StateDir(g.root), id!), null, 2)}\n`);
      return 0;
    },
  },
  kill: {
    usage: "kill [--all] ID [SIGNAL]",
    options: { all: { type: "boolean", short: "a" } },
    args: ["id", "signal?"],
    async run(g, v, [id, signal]) {
      const { kill } = await import("../runtime/lifecycle.ts");
      kill(new StateDir(g.root), id!, signal ?? "SIGTERM", v["all"] === true);
      return 0;
    },
  },
  delete: {
    usage: "delete [--force] ID",
    options: { force: { type: "boolean", short: "f" } },
    args: ["id"],
    async run(g, v, [id]) {
      const { remove } = await import("../runtime/lifecycle.ts");
      await remove(new StateDir(g.root), id!, v["force"] === true);
      return 0;
    },
  },
  list: {
    usage: "list [--format table|json] [-q]",
    options: { format: { type: "string", short: "f" }, quiet: { type: "boolean", short: "q" } },
    args: [],
    async run(g, v) {
      const { list } = await import("../runtime/lifecycle.ts");
      const { formatList } = await import("./list-format.ts");
      const format = (v["format"] as string | undefined) ?? "table";
      if (format !== "table" && format !== "json")
        throw new LeopardError("invalid-argument", `--format "${format}" must be table or json`);
      await out(formatList(list(new StateDir(g.root)), format, v["quiet"] === true));
      return 0;
    },
  },
  exec: {
    usage:
      "exec [--process F | -t --cwd D -e K=V -u UID[:GID] -g GID -c CAP --no-new-privs] [-d] [--pid-file F] [--console-socket S] [--preserve-fds N] [--ignore-paused] ID [COMMAND ARGS...]",
    options: {
      process: { type: "string", short: "p" },
      tty: { type: "boolean", short: "t" },
      cwd: { type: "string" },
      env: { type: "string", short: "e", multiple: true },
      user: { type: "string", short: "u" },
      "additional-gids": { type: "string", short: "g", multiple: true },
      cap: { type: "string", short: "c", multiple: true },
      "no-new-privs": { type: "boolean" },
      apparmor: { type: "string" },
      "process-label": { type: "string" },
      detach: { type: "boolean", short: "d" },
      "pid-file": { type: "string" },
      "console-socket": { type: "string" },
      "preserve-fds": { type: "string" },
      "ignore-paused": { type: "boolean" },
      cgroup: { type: "string", multiple: true },
      explain: { type: "boolean" },
    },
    args: ["id"],
    rest: true,
    async run(g, v, [id], rest) {
      const { execVerb } = await import("./exec.ts");
      return execVerb(g.root, v, id!, rest, count(v["preserve-fds"], "preserve-fds"));
    },
  },
  serve: {
    usage: "serve [--socket PATH] [--workers N]",
    options: { socket: { type: "string" }, workers: { type: "string" } },
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
    options: { format: { type: "string", short: "f" } },
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
VERBS["ls"] = VERBS["list"]!;
Object.assign(VERBS, CGROUP_VERBS);

function usage(): string {
  return [
    "usage: leopard-oci [--root DIR] [--log FILE] [--log-format text|json] [--debug] COMMAND [ARGS]",
    "",
    ...Object.entries(VERBS)
      .filter(([n]) => n !== "ls")
      .map(([, v]) => `  ${v.usage}`),
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
  } catch {}
}

export async function main(argv: readonly string[]): Promise<number> {
  let g: Globals | undefined;
  where = "";
  try {
    // Global flags come before the verb, as with runc.
    const at = findCommand(argv, GLOBAL_OPTIONS);
    const gv = parseFlags(at === -1 ? argv : argv.slice(0, at), GLOBAL_OPTIONS).values;
    const logFormat = (gv["log-format"] as string | undefined) ?? "text";
    g = {
      root: (gv["root"] as string | undefined) ?? DEFAULT_ROOT,
      log: gv["log"] as string | undefined,
      logFormat: logFormat === "json" ? "json" : "text",
      debug: gv["debug"] === true,
      systemdCgroup: gv["systemd-cgroup"] === true,
    };
    if (logFormat !== "text" && logFormat !== "json")
      throw new LeopardError("invalid-argument", `--log-format "${logFormat}" must be text or json`);
    if (gv["version"]) {
      await out(VERSION);
      return 0;
    }
    if (at === -1 || gv["help"]) {
      await out(usage());
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
      await out(`usage: leopard-oci ${verb.usage}\n`);
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
    } catch {}
    return 1;
  }
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
    warm()
      .then(() => import("../serve/worker.ts"))
      .then((w) => w.work({ name: worker, stamp, run: main, reusable }));
  } else main(process.argv.slice(2)).then((code) => process.exit(code));
}
