// leopard-oci: an OCI runtime with runc's command line. argv → commands; one file per verb
// would be overkill for one-liners, so the small verbs live here and the larger ones in runtime/.
import { appendFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { DEFAULT_ROOT, StateDir } from "../state/state.ts";
import { describe, LeopardError } from "../util/errors.ts";
import { VERSION } from "./version.ts";

interface Globals {
  root: string;
  log?: string;
  logFormat: "text" | "json";
  debug?: boolean;
}

let currentCommand = "";
let currentId = "";

function globals(cmd: Command): Globals {
  return cmd.optsWithGlobals() as Globals;
}

function logError(g: Globals | undefined, msg: string): void {
  if (!g?.log) return;
  const line =
    g.logFormat === "json"
      ? `${JSON.stringify({ level: "error", msg, time: new Date().toISOString() })}\n`
      : `time="${new Date().toISOString()}" level=error msg="${msg.replaceAll('"', '\\"')}"\n`;
  try {
    appendFileSync(g.log, line);
  } catch {}
}

function fail(g: Globals | undefined, err: unknown): never {
  const where = [currentCommand, currentId].filter(Boolean).join(" ");
  const msg = describe(err);
  process.stderr.write(`leopard-oci: ${where ? `${where}: ` : ""}${msg}\n`);
  logError(g, msg);
  if (g?.debug && err instanceof Error && !(err instanceof LeopardError)) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}

function intArg(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new LeopardError("invalid-argument", `"${v}" is not a non-negative integer`);
  return n;
}

export function program(): Command {
  const prog = new Command("leopard-oci")
    .description("leopard's OCI runtime, a drop-in for runc")
    .option("--root <dir>", "state directory", DEFAULT_ROOT)
    .option("--log <file>", "also write errors to this file")
    .addOption(new Option("--log-format <format>", "log format").choices(["text", "json"]).default("text"))
    .option("--debug", "debug output")
    .option("--systemd-cgroup", "use systemd for cgroups (not supported yet)")
    .option("--rootless <value>", "rootless mode (auto|true|false)")
    .option("-v, --version", "print the version")
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError(false);

  prog.hook("preAction", (_this, action) => {
    currentCommand = action.name();
    const first = action.args[0];
    if (first !== undefined && currentCommand !== "spec" && currentCommand !== "list") currentId = first;
  });

  prog
    .command("spec")
    .description("write a default config.json")
    .option("-b, --bundle <dir>", "bundle directory", ".")
    .option("--rootless", "a spec for a rootless container")
    .action(async (o: { bundle: string; rootless?: boolean }) => {
      const { writeSpec } = await import("./spec.ts");
      writeSpec(o.bundle, o.rootless === true);
    });

  const createLike = (c: Command) =>
    c
      .option("-b, --bundle <dir>", "bundle directory", ".")
      .option("--pid-file <file>", "write the container's pid here")
      .option("--console-socket <path>", "send the pty master to this unix socket")
      .option("--no-pivot", "use MS_MOVE and chroot instead of pivot_root")
      .option("--no-new-keyring", "keep the caller's session keyring")
      .option("--preserve-fds <n>", "pass this many extra fds (from 3 up)", intArg, 0)
      .option("--explain", "print the launch plan as numbered shell steps, then run it");

  interface CreateFlags {
    bundle: string;
    pidFile?: string;
    consoleSocket?: string;
    pivot: boolean;
    preserveFds: number;
    explain?: boolean;
  }
  const createOptions = (id: string, o: CreateFlags, g: Globals) => ({
    id,
    bundle: o.bundle,
    state: new StateDir(g.root),
    pidFile: o.pidFile,
    consoleSocket: o.consoleSocket,
    noPivot: !o.pivot,
    preserveFds: o.preserveFds + listenFds(),
    explain: o.explain ? (t: string) => process.stderr.write(`${t}\n`) : undefined,
  });

  createLike(prog.command("create").argument("<id>").description("create a container (its process waits for start)")).action(
    async (id: string, o: CreateFlags, cmd: Command) => {
      const { create } = await import("../runtime/create.ts");
      create({ ...createOptions(id, o, globals(cmd)), mode: "detached" });
    },
  );

  createLike(prog.command("run").argument("<id>").description("create and start a container, wait for it"))
    .option("-d, --detach", "do not wait for the container")
    .option("--keep", "keep the container's state after it exits")
    .option("--no-subreaper", "accepted for runc compatibility")
    .action(async (id: string, o: CreateFlags & { detach?: boolean; keep?: boolean }, cmd: Command) => {
      const { run } = await import("../runtime/run.ts");
      const code = await run({ ...createOptions(id, o, globals(cmd)), detach: o.detach, keep: o.keep });
      process.exit(code);
    });

  prog
    .command("start")
    .argument("<id>")
    .description("start a created container")
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const { start } = await import("../runtime/lifecycle.ts");
      start(new StateDir(globals(cmd).root), id);
    });

  prog
    .command("state")
    .argument("<id>")
    .description("print a container's state as JSON")
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const { stateOf } = await import("../runtime/lifecycle.ts");
      process.stdout.write(`${JSON.stringify(stateOf(new StateDir(globals(cmd).root), id), null, 2)}\n`);
    });

  prog
    .command("kill")
    .argument("<id>")
    .argument("[signal]", "signal name or number", "SIGTERM")
    .option("-a, --all", "signal every process in the container")
    .description("send a signal to a container")
    .action(async (id: string, signal: string, o: { all?: boolean }, cmd: Command) => {
      const { kill } = await import("../runtime/lifecycle.ts");
      kill(new StateDir(globals(cmd).root), id, signal, o.all === true);
    });

  prog
    .command("delete")
    .argument("<id>")
    .option("-f, --force", "kill a running container first")
    .description("delete a container")
    .action(async (id: string, o: { force?: boolean }, cmd: Command) => {
      const { remove } = await import("../runtime/lifecycle.ts");
      await remove(new StateDir(globals(cmd).root), id, o.force === true);
    });

  prog
    .command("list")
    .alias("ls")
    .option("-f, --format <format>", "table or json", "table")
    .option("-q, --quiet", "ids only")
    .description("list containers")
    .action(async (o: { format: string; quiet?: boolean }, cmd: Command) => {
      const { list } = await import("../runtime/lifecycle.ts");
      const { formatList } = await import("./list-format.ts");
      process.stdout.write(formatList(list(new StateDir(globals(cmd).root)), o.format, o.quiet === true));
    });

  return prog;
}

/** systemd socket activation: LISTEN_FDS extra fds pass through as runc does. */
function listenFds(): number {
  const n = Number(process.env["LISTEN_FDS"] ?? "0");
  return Number.isInteger(n) && n > 0 ? n : 0;
}

export async function main(argv: string[]): Promise<void> {
  const prog = program();
  if (argv.includes("-v") || argv.includes("--version")) {
    if (!argv.slice(2).some((a) => !a.startsWith("-"))) {
      process.stdout.write(VERSION);
      return;
    }
  }
  try {
    await prog.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) process.exit(0);
      process.exit(e.exitCode || 1);
    }
    fail(prog.opts() as Globals, e);
  }
}

if (import.meta.main) void main(process.argv);
