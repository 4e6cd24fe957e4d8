// A command-line parser with node:util parseArgs's strict behaviour for the options leopard-oci
// declares (long --name and --name=value, short -x, grouped -abc, -bVALUE, `--` ends options,
// repeated `multiple` options), written here because loading node:util costs ~25 ms of CPU on
// every runtime call. args.test.ts checks it against parseArgs itself. One departure, runc's
// (Go's flag package): a string option takes the next argument whatever it is, so containerd's
// `update --resources - ID` reads stdin (parseArgs calls a value starting with "-" ambiguous).
import { LeopardError } from "../util/errors.ts";

export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  /** One line for `--help`: what the flag does (and its value's meaning). */
  help?: string;
  /** The value's name in `--help` ("FILE", "N"); "VALUE" when unset. */
  value?: string;
}
export type Options = Record<string, OptionSpec>;
export type Values = Record<string, string | boolean | string[] | undefined>;

export interface Parsed {
  values: Values;
  positionals: string[];
  /** Arguments left unread (see stopAfter), in order. */
  rest: string[];
}

export interface ParseOptions {
  /** Stop once this many positionals are read: the rest is returned unparsed. */
  stopAfter?: number;
}

/** A bad command line: the one-line error of the verb being parsed. */
export function bad(msg: string): LeopardError {
  return new LeopardError("invalid-argument", msg);
}

/** parseArgs({ args, options, strict: true, allowPositionals: true }), with runc's error lines. */
export function parseFlags(args: readonly string[], options: Options, opts: ParseOptions = {}): Parsed {
  const values: Values = {};
  const positionals: string[] = [];
  const byShort = new Map<string, string>();
  for (const [name, o] of Object.entries(options)) if (o.short !== undefined) byShort.set(o.short, name);
  const store = (name: string, v: string | boolean): void => {
    const o = options[name]!;
    if (o.multiple) {
      const list = (values[name] as string[] | boolean[] | undefined) ?? [];
      (list as (string | boolean)[]).push(v);
      values[name] = list as string[];
    } else values[name] = v;
  };
  const stop = opts.stopAfter;
  let i = 0;
  for (; i < args.length; i++) {
    if (stop !== undefined && positionals.length >= stop) break;
    const arg = args[i]!;
    if (arg === "--") {
      // Everything after is positional.
      for (i++; i < args.length; i++) {
        if (stop !== undefined && positionals.length >= stop) break;
        positionals.push(args[i]!);
      }
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      const o = Object.hasOwn(options, name) ? options[name] : undefined;
      if (o === undefined) throw bad(`unknown option --${name}`);
      if (o.type === "boolean") {
        if (eq !== -1) throw bad(`Option '--${name}' does not take an argument`);
        store(name, true);
      } else if (eq !== -1) store(name, arg.slice(eq + 1));
      else {
        const v = args[i + 1];
        if (v === undefined) throw bad(`Option '--${name} <value>' argument missing`);
        store(name, v);
        i++;
      }
      continue;
    }
    if (arg.startsWith("-") && arg !== "-") {
      // -a, -abc (booleans), -bVALUE / -b VALUE (a string option takes the rest or the next arg).
      for (let j = 1; j < arg.length; j++) {
        const c = arg[j]!;
        const name = byShort.get(c);
        // parseArgs names an unknown letter of a group without its dash.
        if (name === undefined) throw bad(`unknown option ${arg.length === 2 ? arg : c}`);
        const o = options[name]!;
        if (o.type === "boolean") {
          store(name, true);
          continue;
        }
        if (j + 1 < arg.length) {
          store(name, arg.slice(j + 1));
        } else {
          const v = args[i + 1];
          if (v === undefined) throw bad(`Option '-${c}, --${name} <value>' argument missing`);
          store(name, v);
          i++;
        }
        break;
      }
      continue;
    }
    positionals.push(arg);
  }
  return { values, positionals, rest: args.slice(i) };
}

/** Where the command word is: the first positional, skipping global options and their values. */
export function findCommand(args: readonly string[], options: Options): number {
  const byShort = new Map<string, OptionSpec>();
  for (const o of Object.values(options)) if (o.short !== undefined) byShort.set(o.short, o);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") return i + 1 < args.length ? i + 1 : -1;
    if (arg.startsWith("--")) {
      const name = arg.slice(2);
      // A known string option without "=" takes the next argument (unknown ones are flags).
      if (!name.includes("=") && Object.hasOwn(options, name) && options[name]!.type === "string") i++;
      continue;
    }
    if (arg.startsWith("-") && arg !== "-") {
      // In a group, the first string option takes the rest of it, or the next argument if last.
      for (let j = 1; j < arg.length; j++) {
        if (byShort.get(arg[j]!)?.type !== "string") continue;
        if (j === arg.length - 1) i++;
        break;
      }
      continue;
    }
    return i;
  }
  return -1;
}
