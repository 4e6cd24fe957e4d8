// leopard: the engine's command line, with docker's habits: containers (run, create, start,
// stop, ps, logs, exec, rm …), volumes and images. Each verb's module is imported only when
// that verb runs. Exit codes as docker's: 125 when leopard fails, 126/127 when the command
// cannot run or is not found, otherwise the container's own status.
import { parseArgs } from "node:util";
import { CommandError, exitCodeOf } from "../engine/errors.ts";
import { defaultStorage } from "../image/store.ts";
import { firstCallBy } from "../serve/first-call.ts";
import { describe, LeopardError } from "../util/errors.ts";
import type { Globals, Options, Values, Verb } from "./image-common.ts";

/** Verbs whose failures exit 125/126/127 as docker's do (the others exit 1). */
const ENGINE_EXIT = new Set(["run", "create", "start", "exec"]);

const GLOBAL_OPTIONS: Options = {
  storage: { type: "string" },
  run: { type: "string" },
  debug: { type: "boolean" },
  version: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
};

const ctr = async () => await import("./ctr-life.ts");
const CONTAINER_VERBS: Record<string, () => Promise<Verb>> = {
  run: async () => (await import("./ctr-run.ts")).runVerb,
  create: async () => (await import("./ctr-run.ts")).createVerb,
  start: async () => (await ctr()).startVerb,
  stop: async () => (await ctr()).stopVerb,
  restart: async () => (await ctr()).restartVerb,
  kill: async () => (await ctr()).killVerb,
  wait: async () => (await ctr()).waitVerb,
  rm: async () => (await ctr()).rmVerb,
  pause: async () => (await ctr()).pauseVerb,
  unpause: async () => (await ctr()).unpauseVerb,
  rename: async () => (await ctr()).renameVerb,
  ps: async () => (await import("./ctr-ps.ts")).psVerb,
  logs: async () => (await import("./ctr-logs.ts")).logsVerb,
  exec: async () => (await import("./ctr-exec.ts")).execVerb,
  top: async () => (await import("./ctr-inspect.ts")).topVerb,
  port: async () => (await import("./ctr-inspect.ts")).portVerb,
  cp: async () => (await import("./ctr-cp.ts")).cpVerb,
  stats: async () => (await import("./system.ts")).statsVerb,
  attach: async () => (await import("./ctr-attach.ts")).attachVerb,
};

/** `leopard container <sub>`. */
const CONTAINER_SUBVERBS: Record<string, () => Promise<Verb>> = {
  ...CONTAINER_VERBS,
  ls: CONTAINER_VERBS["ps"]!,
  list: CONTAINER_VERBS["ps"]!,
  inspect: async () => (await import("./ctr-inspect.ts")).containerInspectVerb,
  prune: async () => (await ctr()).containerPruneVerb,
};

const VOLUME_SUBVERBS: Record<string, () => Promise<Verb>> = {
  create: async () => (await import("./volume.ts")).volumeCreateVerb,
  ls: async () => (await import("./volume.ts")).volumeLsVerb,
  list: async () => (await import("./volume.ts")).volumeLsVerb,
  rm: async () => (await import("./volume.ts")).volumeRmVerb,
  inspect: async () => (await import("./volume.ts")).volumeInspectVerb,
  prune: async () => (await import("./volume.ts")).volumePruneVerb,
};

const SYSTEM_SUBVERBS: Record<string, () => Promise<Verb>> = {
  df: async () => (await import("./system.ts")).dfVerb,
  prune: async () => (await import("./system.ts")).systemPruneVerb,
  info: async () => (await import("./system.ts")).infoVerb,
};

const VERBS: Record<string, () => Promise<Verb>> = {
  ...CONTAINER_VERBS,
  serve: async () => serveVerb,
  version: async () => (await import("./system.ts")).versionVerb,
  info: async () => (await import("./system.ts")).infoVerb,
  "container-cleanup": async () => (await ctr()).cleanupVerb,
  "slirp-hook": async () => (await import("./slirp-hook.ts")).slirpHookVerb,
  pull: async () => (await import("./image-pull.ts")).pullVerb,
  import: async () => (await import("./image-import.ts")).importVerb,
  load: async () => (await import("./image-load.ts")).loadVerb,
  save: async () => (await import("./image-save.ts")).saveVerb,
  images: async () => (await import("./image-list.ts")).imagesVerb,
  inspect: async () => (await import("./ctr-inspect.ts")).anyInspectVerb,
  tag: async () => (await import("./image-tag.ts")).tagVerb,
  build: async () => (await import("./image-build.ts")).buildVerb,
  push: async () => (await import("./image-push.ts")).pushVerb,
  commit: async () => (await import("./ctr-commit.ts")).commitVerb,
  rmi: async () => (await import("./image-rmi.ts")).rmiVerb,
  login: async () => (await import("./image-login.ts")).loginVerb,
  logout: async () => (await import("./image-login.ts")).logoutVerb,
};

/** `leopard serve`: warm workers for bin/leopard (src/serve/supervisor.ts). */
const serveVerb: Verb = {
  usage: "serve [--socket PATH] [--workers N] [--idle-exit SECONDS] [--retire-after SECONDS]",
  options: {
    socket: { type: "string" },
    workers: { type: "string" },
    "idle-exit": { type: "string" },
    "retire-after": { type: "string" },
  },
  args: [],
  async run(_g, v) {
    return (await import("../serve/supervisor.ts")).serveVerb("leopard", v);
  },
};

/** `leopard image <sub>`: docker's management-command spellings. */
const IMAGE_SUBVERBS: Record<string, () => Promise<Verb>> = {
  pull: VERBS["pull"]!,
  import: VERBS["import"]!,
  load: VERBS["load"]!,
  save: VERBS["save"]!,
  ls: VERBS["images"]!,
  list: VERBS["images"]!,
  inspect: async () => (await import("./image-inspect.ts")).inspectVerb,
  tag: VERBS["tag"]!,
  build: VERBS["build"]!,
  push: VERBS["push"]!,
  rm: VERBS["rmi"]!,
  prune: async () => (await import("./image-prune.ts")).pruneVerb,
};

const BUILDER_SUBVERBS: Record<string, () => Promise<Verb>> = {
  prune: async () => (await import("./builder.ts")).builderPruneVerb,
};

const GROUPS: Record<string, Record<string, () => Promise<Verb>>> = {
  image: IMAGE_SUBVERBS,
  builder: BUILDER_SUBVERBS,
  container: CONTAINER_SUBVERBS,
  volume: VOLUME_SUBVERBS,
  system: SYSTEM_SUBVERBS,
};

function usage(): string {
  return `usage: leopard [--storage DIR] [--run DIR] COMMAND [OPTIONS] [ARGS]

Containers:
  run       create and start a container (-d detached, -it interactive, --rm …)
  create    create a container without starting it
  start     start created or stopped containers
  stop      stop containers (the stop signal, then SIGKILL after --time)
  restart   stop and start containers
  kill      send a signal to containers
  wait      wait for containers to exit and print their exit codes
  rm        remove containers (-f running ones, -v their anonymous volumes)
  ps        list containers (-a all, -q ids, --filter, --format json)
  logs      show a detached container's output (-f follow, --tail, --since, -t)
  exec      run a command in a running container (-it, -d, -e, -u, -w)
  attach    attach to a detached container's terminal or output (ctrl-p ctrl-q detaches)
  top       show a container's processes
  port      show a container's published ports
  pause     freeze containers
  unpause   thaw containers
  rename    rename a container
  cp        copy files between a container and the host
  container inspect | prune | ls | …
  stats     containers' cpu, memory, network and pids (--no-stream once)
  volume    create | ls | rm | inspect | prune
  system    df | prune | info
  version   leopard's version;  info: the engine and its host

Images:
  build     build an image from a Dockerfile/Containerfile (-t, -f, --build-arg, --target, -q …)
  pull      fetch an image from a registry
  push      send an image to a registry (credentials from login)
  commit    a container's changes as a new image (-c/--change for the config)
  import    create an image from a root filesystem tarball
  load      load images from a docker or OCI archive, or an OCI layout
  save      write images to an OCI archive or docker archive
  images    list images
  inspect   show an image's configuration as JSON
  tag       give an image another name
  rmi       remove images
  image     image prune | ls | rm | inspect | pull | import | load | save | tag | build | push
  builder   builder prune: forget the build cache and the layers only it kept
  login     store credentials for a registry
  logout    remove stored credentials

Networks:
  network   network create | ls | rm | inspect | check

Storage: --storage DIR, or $LEOPARD_STORAGE, default /var/lib/leopard
(rootless: $XDG_DATA_HOME/leopard, i.e. ~/.local/share/leopard).
Run directory (runtime state, exit files; emptied by a reboot): --run DIR, or $LEOPARD_RUN,
default /run/leopard-engine (rootless: $XDG_RUNTIME_DIR/leopard-engine).
`;
}

/** `--tls-verify` alone means true; parseArgs wants a value. */
function normalize(argv: readonly string[]): string[] {
  return argv.map((a) => (a === "--tls-verify" ? "--tls-verify=true" : a));
}

export async function main(rawArgv: readonly string[]): Promise<number> {
  const argv = normalize(rawArgv);
  let where = "";
  // How many words of `where` name the verb ("run", "volume rm").
  let verbWords = 1;
  let debug = false;
  try {
    const first = parseArgs({
      args: argv,
      options: GLOBAL_OPTIONS,
      strict: false,
      allowPositionals: true,
      tokens: true,
    });
    const verbToken = first.tokens.find((t) => t.kind === "positional");
    const globalArgs = verbToken ? argv.slice(0, verbToken.index) : argv;
    const gv = parseArgs({ args: globalArgs, options: GLOBAL_OPTIONS, strict: true }).values as Values;
    debug = gv["debug"] === true;
    const g: Globals = {
      storage: (gv["storage"] as string | undefined) ?? defaultStorage(),
      run: gv["run"] as string | undefined,
      debug,
    };
    if (gv["version"]) {
      process.stdout.write("leopard version 0.1.0\n");
      return 0;
    }
    if (!verbToken || gv["help"]) {
      process.stdout.write(usage());
      return verbToken || gv["help"] ? 0 : 1;
    }
    let name = argv[verbToken.index] ?? "";
    let rest = argv.slice(verbToken.index + 1);
    let load = VERBS[name];
    const group = GROUPS[name];
    const subs = group ?? (name === "network" ? (await import("./network.ts")).NETWORK_VERBS : undefined);
    if (subs !== undefined) {
      const sub = rest[0];
      // `leopard volume`, `leopard volume --help`: the group's commands, as docker lists them.
      if (sub === undefined || sub === "--help" || sub === "-h") {
        process.stdout.write(`usage: leopard ${name} COMMAND\n\nCommands: ${Object.keys(subs).join(", ")}\n`);
        return 0;
      }
      const found = Object.hasOwn(subs, sub) ? subs[sub] : undefined;
      if (found === undefined) throw new LeopardError("invalid-argument", `unknown ${name} command "${sub}"`);
      load = typeof found === "function" ? (found as () => Promise<Verb>) : async () => found as Verb;
      name = `${name} ${sub}`;
      rest = rest.slice(1);
    }
    if (load === undefined) throw new LeopardError("invalid-argument", `unknown command "${name}"`);
    const verb = await load();
    where = name;
    verbWords = name.split(" ").length;
    let passThrough: string[] = [];
    if (verb.rest) {
      // Options stop at the first positional argument past the verb's own: `run busybox ls -l`.
      const scan = parseArgs({
        args: rest,
        options: verb.options,
        strict: false,
        allowPositionals: true,
        tokens: true,
      });
      const fixed = verb.args.filter((x) => !x.endsWith("?")).length;
      const last = scan.tokens.filter((t) => t.kind === "positional")[fixed - 1];
      if (last) {
        passThrough = rest.slice(last.index + 1);
        rest = rest.slice(0, last.index + 1);
      }
    }
    const ownsH = Object.values(verb.options ?? {}).some((o) => o.short === "h");
    const parsed = parseArgs({
      args: rest,
      options: { ...verb.options, help: ownsH ? { type: "boolean" } : { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: true,
    });
    if (parsed.values["help"]) {
      process.stdout.write(`usage: leopard ${verb.usage}\n`);
      return 0;
    }
    const pos = [...parsed.positionals, ...passThrough];
    const variadic = verb.args.some((a) => a.includes("..."));
    const required = verb.args.filter((a) => !a.endsWith("?")).length;
    if (pos[0] !== undefined) where = `${name} ${pos[0]}`;
    if (pos.length < required)
      throw new LeopardError("invalid-argument", `missing argument: usage: leopard ${verb.usage}`);
    if (!variadic && !verb.rest && pos.length > verb.args.length) {
      throw new LeopardError(
        "invalid-argument",
        `unexpected argument "${pos[verb.args.length]}": usage: leopard ${verb.usage}`,
      );
    }
    return (await verb.run(g, parsed.values as Values, pos)) ?? 0;
  } catch (err) {
    const msg = describe(err);
    const code = (err as { code?: string }).code ?? "";
    if (code.startsWith("ERR_PARSE_ARGS")) {
      // docker's words and status for a bad flag: 125, and where to read about the verb's flags.
      const flag = /'([^']+)'/.exec(msg)?.[1] ?? "";
      const line =
        code === "ERR_PARSE_ARGS_UNKNOWN_OPTION"
          ? flag.startsWith("--") || flag === ""
            ? `unknown flag: ${flag || msg}`
            : `unknown shorthand flag: '${flag.replace(/^-/, "")}' in ${flag}`
          : (msg.split("\n")[0] ?? msg);
      const verbName = where.split(" ").slice(0, verbWords).join(" ");
      process.stderr.write(`${line}\nSee 'leopard ${verbName ? `${verbName} ` : ""}--help'.\n`);
      return 125;
    }
    process.stderr.write(`leopard: ${where ? `${where}: ` : ""}${msg}\n`);
    if (debug && err instanceof Error && !(err instanceof LeopardError))
      process.stderr.write(`${err.stack}\n`);
    const verb = where.split(" ")[0] ?? "";
    // exec: the command's own 126/127; the engine's failures (no such container, not running) 1.
    if (verb === "exec") return err instanceof CommandError ? err.exitCode : 1;
    return ENGINE_EXIT.has(verb) ? exitCodeOf(err) : 1;
  }
}

/** The verb (and a group's sub-verb) of a command line, skipping the global options. */
function verbOf(argv: readonly string[]): { verb: string } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--storage" || a === "--run") i++;
    else if (!a.startsWith("-")) return { verb: a };
  }
  return { verb: "" };
}

/**
 * What a warm worker of `leopard serve` leaves to the caller's own process: `attach` relays a
 * session through process.stdin. (conmon, like the helper, is started by the launcher.)
 */
function declines(argv: readonly string[]): string | undefined {
  const { verb } = verbOf(argv);
  if (verb === "attach" || verb === "serve") return `${verb} runs in the caller`;
  return undefined;
}

/** Verbs after which a worker may serve again: they hold no stream, terminal or monitor. */
const REUSABLE = new Set([
  "run",
  "start",
  "restart",
  "create",
  "stop",
  "kill",
  "rm",
  "ps",
  "inspect",
  "wait",
  "pause",
  "unpause",
  "images",
  // The image verbs, as their `image ...` forms below (a pull keeps the warm unpack threads).
  "pull",
  "import",
  "load",
  "version",
  "info",
  "volume",
  "network",
  "image",
  "container-cleanup",
  "exec",
  "port",
  "top",
  "rename",
  "tag",
  "rmi",
]);

type Write = (chunk: string | Uint8Array, ...rest: unknown[]) => boolean;

async function warm(): Promise<void> {
  await Promise.all([
    import("./ctr-run.ts"),
    import("./ctr-life.ts"),
    import("./ctr-ps.ts"),
    import("./ctr-exec.ts"),
  ]);
  // The engine writes through process.stdout and process.stderr, Bun streams that keep the fd
  // they were made with. A worker puts each caller's fds on 0-2, so their writes become plain
  // write(2)s on whatever 0-2 are now (synchronous: nothing is left to flush after a command).
  const { writeAll } = await import("../sys/io.ts");
  for (const [stream, fd] of [
    [process.stdout, 1],
    [process.stderr, 2],
  ] as const) {
    (stream as unknown as { write: Write }).write = (chunk, ...rest) => {
      try {
        writeAll(fd, chunk);
      } catch {
        // Our stdout or stderr is closed (EPIPE): the output has nowhere to go, and the command goes on, as with node's streams.
      }
      const done = rest.find((r) => typeof r === "function") as (() => void) | undefined;
      done?.();
      return true;
    };
  }
}

if (import.meta.main) {
  const worker = process.env["LEOPARD_SERVE_WORKER"];
  if (worker) {
    const stamp = process.env["LEOPARD_SERVE_STAMP"] ?? "";
    warm()
      .then(() => import("../serve/worker.ts"))
      .then((w) =>
        w.work({
          name: worker,
          stamp,
          run: main,
          reusable: (argv) => REUSABLE.has(verbOf(argv).verb),
          declines,
          // Layer unpack threads for pulls, loads and imports (see unpack-thread.ts).
          prepare: () => import("../image/unpack-thread.ts").then((m) => m.warmPool()),
        }),
      );
  } else {
    // `serve` socket-activated serves the call that started it with this CLI (src/serve/first-call.ts).
    firstCallBy((name, stamp) => ({
      name,
      stamp,
      run: main,
      reusable: (argv) => REUSABLE.has(verbOf(argv).verb),
      declines,
    }));
    main(process.argv.slice(2)).then((code) => process.exit(code));
  }
}
