// leopard: the engine's command line, with docker's habits. For now the image verbs: pull,
// import, load, save, images, inspect, tag, rmi, image prune, login, logout. Each verb's
// module is imported only when that verb runs.
import { parseArgs } from "node:util";
import { defaultStorage } from "../image/store.ts";
import { describe, LeopardError } from "../util/errors.ts";
import type { Globals, Options, Values, Verb } from "./image-common.ts";

const GLOBAL_OPTIONS: Options = {
  storage: { type: "string" },
  debug: { type: "boolean" },
  version: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
};

const VERBS: Record<string, () => Promise<Verb>> = {
  pull: async () => (await import("./image-pull.ts")).pullVerb,
  import: async () => (await import("./image-import.ts")).importVerb,
  load: async () => (await import("./image-load.ts")).loadVerb,
  save: async () => (await import("./image-save.ts")).saveVerb,
  images: async () => (await import("./image-list.ts")).imagesVerb,
  inspect: async () => (await import("./image-inspect.ts")).inspectVerb,
  tag: async () => (await import("./image-tag.ts")).tagVerb,
  rmi: async () => (await import("./image-rmi.ts")).rmiVerb,
  login: async () => (await import("./image-login.ts")).loginVerb,
  logout: async () => (await import("./image-login.ts")).logoutVerb,
};

/** `leopard image <sub>`: docker's management-command spellings. */
const IMAGE_SUBVERBS: Record<string, () => Promise<Verb>> = {
  pull: VERBS["pull"]!,
  import: VERBS["import"]!,
  load: VERBS["load"]!,
  save: VERBS["save"]!,
  ls: VERBS["images"]!,
  list: VERBS["images"]!,
  inspect: VERBS["inspect"]!,
  tag: VERBS["tag"]!,
  rm: VERBS["rmi"]!,
  prune: async () => (await import("./image-prune.ts")).pruneVerb,
};

function usage(): string {
  return `usage: leopard [--storage DIR] COMMAND [OPTIONS] [ARGS]

Images:
  pull      fetch an image from a registry
  import    create an image from a root filesystem tarball
  load      load images from a docker or OCI archive, or an OCI layout
  save      write images to an OCI archive or docker archive
  images    list images
  inspect   show an image's configuration as JSON
  tag       give an image another name
  rmi       remove images
  image     image prune | ls | rm | inspect | pull | import | load | save | tag
  login     store credentials for a registry
  logout    remove stored credentials

Networks:
  network   network create | ls | rm | inspect

Storage: --storage DIR, or $LEOPARD_STORAGE, default /var/lib/leopard.
`;
}

/** `--tls-verify` alone means true; parseArgs wants a value. */
function normalize(argv: readonly string[]): string[] {
  return argv.map((a) => (a === "--tls-verify" ? "--tls-verify=true" : a));
}

export async function main(rawArgv: readonly string[]): Promise<number> {
  const argv = normalize(rawArgv);
  let where = "";
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
    const g: Globals = { storage: (gv["storage"] as string | undefined) ?? defaultStorage(), debug };
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
    if (name === "image") {
      const sub = rest[0];
      load = sub === undefined ? undefined : IMAGE_SUBVERBS[sub];
      if (load === undefined)
        throw new LeopardError("invalid-argument", `unknown image command "${sub ?? ""}"`);
      name = `image ${sub}`;
      rest = rest.slice(1);
    }
    if (name === "network") {
      const sub = rest[0];
      const v = sub === undefined ? undefined : (await import("./network.ts")).NETWORK_VERBS[sub];
      if (v === undefined)
        throw new LeopardError("invalid-argument", `unknown network command "${sub ?? ""}"`);
      load = async () => v;
      name = `network ${sub}`;
      rest = rest.slice(1);
    }
    if (load === undefined) throw new LeopardError("invalid-argument", `unknown command "${name}"`);
    const verb = await load();
    where = name;
    const parsed = parseArgs({
      args: rest,
      options: { ...verb.options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: true,
    });
    if (parsed.values["help"]) {
      process.stdout.write(`usage: leopard ${verb.usage}\n`);
      return 0;
    }
    const pos = parsed.positionals;
    const variadic = verb.args.some((a) => a.endsWith("..."));
    const required = verb.args.filter((a) => !a.endsWith("?")).length;
    if (pos[0] !== undefined) where = `${name} ${pos[0]}`;
    if (pos.length < required)
      throw new LeopardError("invalid-argument", `missing argument: usage: leopard ${verb.usage}`);
    if (!variadic && pos.length > verb.args.length) {
      throw new LeopardError(
        "invalid-argument",
        `unexpected argument "${pos[verb.args.length]}": usage: leopard ${verb.usage}`,
      );
    }
    return (await verb.run(g, parsed.values as Values, pos)) ?? 0;
  } catch (err) {
    let msg = describe(err);
    const code = (err as { code?: string }).code ?? "";
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") msg = `unknown option ${/'([^']+)'/.exec(msg)?.[1] ?? msg}`;
    else if (code.startsWith("ERR_PARSE_ARGS")) msg = msg.split("\n")[0] ?? msg;
    process.stderr.write(`leopard: ${where ? `${where}: ` : ""}${msg}\n`);
    if (debug && err instanceof Error && !(err instanceof LeopardError))
      process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}

if (import.meta.main) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
