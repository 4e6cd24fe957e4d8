// leopard-oci: an OCI runtime with runc's command line. Parsing uses node:util's parseArgs
// (built into the runtime: no import cost on the hot path, where every engine call pays
// start-up); each verb's module is imported only when that verb runs.
import { appendFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { DEFAULT_ROOT, StateDir } from "../state/state.ts";
import { describe, LeopardError } from "../util/errors.ts";
import { mark } from "../util/trace.ts";
import { VERSION } from "./version.ts";

type Options = NonNullable<Parameters<typeof parseArgs>[0]>["options"];
type Values = Record<string, string | boolean | undefined>;

interface Globals {
  root: string;
  log: string | undefined;
  logFormat: "text" | "json";
  debug: boolean;
}

interface Verb {
  usage: string;
  options: Options;
  /** Positional arguments: names, a trailing "?" marks an optional one. */
  args: string[];
  run(g: Globals, v: Values, a: string[]): Promise<number | undefined> | number | undefined;
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

function count(v: string | boolean | undefined, name: string): number {
  if (v === undefined) return 0;
  const n = Number(v);
  if (typeof v !== "string" || !Number.isInteger(n) || n < 0) {
    throw new LeopardError("invalid-argument", `--${name} "${String(v)}" is not a non-negative integer`);
  }
  return n;
}

/** systemd socket activation: LISTEN_FDS extra fds pass through as runc does. */
function listenFds(): number {
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
    preserveFds: count(v["preserve-fds"], "preserve-fds") + listenFds(),
    explain: v["explain"] ? (t: string) => void process.stderr.write(`${t}\n`) : undefined,
  };
}

const VERBS: Record<string, Verb> = {
  spec: {
    usage: "spec [--rootless] [-b BUNDLE]",
    options: { bundle: { type: "string", short: "b" }, rootless: { type: "boolean" } },
    args: [],
    async run(_g, v) {
      const { writeSpec } = await import("./spec.ts");
      writeSpec(typeof v["bundle"] === "string" ? v["bundle"] : ".", v["rootless"] === true);
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
      process.stdout.write(`${JSON.stringify(stateOf(new StateDir(g.root), id!), null, 2)}\n`);
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
      process.stdout.write(formatList(list(new StateDir(g.root)), format, v["quiet"] === true));
      return 0;
    },
  },
};
VERBS["ls"] = VERBS["list"]!;

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
    appendFileSync(g.log, line);
  } catch {}
}

export async function main(argv: readonly string[]): Promise<number> {
  let g: Globals | undefined;
  try {
    // Global flags come before the verb, as with runc.
    const first = parseArgs({
      args: [...argv],
      options: GLOBAL_OPTIONS,
      strict: false,
      allowPositionals: true,
      tokens: true,
    });
    const verbToken = first.tokens.find((t) => t.kind === "positional");
    const globalArgs = verbToken ? argv.slice(0, verbToken.index) : argv;
    const gv = parseArgs({ args: [...globalArgs], options: GLOBAL_OPTIONS, strict: true }).values as Values;
    const logFormat = (gv["log-format"] as string | undefined) ?? "text";
    g = {
      root: (gv["root"] as string | undefined) ?? DEFAULT_ROOT,
      log: gv["log"] as string | undefined,
      logFormat: logFormat === "json" ? "json" : "text",
      debug: gv["debug"] === true,
    };
    if (logFormat !== "text" && logFormat !== "json")
      throw new LeopardError("invalid-argument", `--log-format "${logFormat}" must be text or json`);
    if (gv["version"]) {
      process.stdout.write(VERSION);
      return 0;
    }
    if (!verbToken || gv["help"]) {
      process.stdout.write(usage());
      return verbToken || gv["help"] ? 0 : 1;
    }
    const name = argv[verbToken.index]!;
    const verb = VERBS[name];
    if (!verb) throw new LeopardError("invalid-argument", `unknown command "${name}"`);
    where = name;
    const parsed = parseArgs({
      args: argv.slice(verbToken.index + 1),
      options: { ...verb.options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: true,
    });
    if (parsed.values["help"]) {
      process.stdout.write(`usage: leopard-oci ${verb.usage}\n`);
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
    return (await verb.run(g, parsed.values as Values, pos)) ?? 0;
  } catch (err) {
    let msg = describe(err);
    // parseArgs errors carry a code; keep their message to one line.
    const code = (err as { code?: string }).code ?? "";
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") msg = `unknown option ${/'([^']+)'/.exec(msg)?.[1] ?? msg}`;
    else if (code.startsWith("ERR_PARSE_ARGS")) msg = msg.split("\n")[0] ?? msg;
    process.stderr.write(`leopard-oci: ${where ? `${where}: ` : ""}${msg}\n`);
    logError(g, msg);
    if (g?.debug && err instanceof Error && !(err instanceof LeopardError))
      process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}

if (import.meta.main) {
  mark("cli: loaded");
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
