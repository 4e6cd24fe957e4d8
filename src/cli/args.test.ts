import { describe, expect, test } from "bun:test";
import { parseArgs } from "node:util";
import { findCommand, type Options, parseFlags, type Values } from "./args.ts";

const OPTIONS: Options = {
  root: { type: "string" },
  debug: { type: "boolean" },
  bundle: { type: "string", short: "b" },
  all: { type: "boolean", short: "a" },
  quiet: { type: "boolean", short: "q" },
  env: { type: "string", short: "e", multiple: true },
};

/** What the CLI printed for each parseArgs error before it had its own parser. */
function oracle(args: string[]): { values: unknown; positionals: string[] } | string {
  try {
    const r = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: true });
    return { values: { ...r.values }, positionals: r.positionals };
  } catch (e) {
    const msg = (e as Error).message;
    if ((e as { code?: string }).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION")
      return `unknown option ${/'([^']+)'/.exec(msg)?.[1]}`;
    return msg.split("\n")[0]!;
  }
}

function ours(args: string[]): { values: unknown; positionals: string[] } | string {
  try {
    const r = parseFlags(args, OPTIONS);
    return { values: r.values, positionals: r.positionals };
  } catch (e) {
    return (e as Error).message;
  }
}

describe("parseFlags matches node:util parseArgs (strict)", () => {
  const cases: string[][] = [
    [],
    ["id"],
    ["--root", "/r", "id"],
    ["--root=/r", "id"],
    ["--root="],
    ["--root"],
    ["--debug=1"],
    ["--debug", "--debug"],
    ["--nope"],
    ["--Root", "x"],
    ["-z"],
    ["-az"],
    ["-a-"],
    ["-bfoo", "id"],
    ["-b", "foo", "id"],
    ["-b"],
    ["-ab"],
    ["-ab", "v"],
    ["-ba"],
    ["-aq", "x"],
    ["-qa=1"],
    ["-", "--", "--root"],
    ["--", "-a", "b"],
    ["-e", "A", "-e=B", "--env", "C", "--env=D"],
    ["--bundle=-x"],
    ["--root", "a", "--root", "b"],
    ["id", "--all", "SIGKILL"],
    ["--constructor"],
    ["--__proto__", "x"],
  ];
  for (const args of cases) {
    test(JSON.stringify(args), () => {
      expect(ours(args)).toEqual(oracle(args));
    });
  }
});

describe("a string option takes the next argument whatever it is, as runc's (Go's) flag parser does", () => {
  const table: [string[], Values, string[]][] = [
    [["--root", "-", "id"], { root: "-" }, ["id"]],
    [["--root", "-x"], { root: "-x" }, []],
    [["-b", "-x", "id"], { bundle: "-x" }, ["id"]],
    [["--root", "--", "id"], { root: "--" }, ["id"]],
    [["-e", "-", "-e", "--env"], { env: ["-", "--env"] }, []],
  ];
  for (const [args, values, positionals] of table) {
    test(JSON.stringify(args), () => {
      expect(parseFlags(args, OPTIONS)).toEqual({ values, positionals, rest: [] });
    });
  }
});

describe("parseFlags stopAfter (exec and ps: flags end after the id)", () => {
  const table: [string[], string[], string[]][] = [
    [["-e", "A", "id", "sh", "-c", "x"], ["id"], ["sh", "-c", "x"]],
    [["id", "--env", "x"], ["id"], ["--env", "x"]],
    [["--", "id", "-a"], ["id"], ["-a"]],
    [["id"], ["id"], []],
  ];
  for (const [args, pos, rest] of table) {
    test(JSON.stringify(args), () => {
      const r = parseFlags(args, OPTIONS, { stopAfter: 1 });
      expect(r.positionals).toEqual(pos);
      expect(r.rest).toEqual(rest);
    });
  }
});

describe("findCommand: the first positional after the global flags", () => {
  const table: [string[], number][] = [
    [["state", "x"], 0],
    [["--root", "/r", "state", "x"], 2],
    [["--root=/r", "state"], 1],
    [["--debug", "state"], 1],
    [["--bogus", "state"], 1],
    [["-a", "state"], 1],
    [["-b", "v", "state"], 2],
    [["-ab", "v", "state"], 2],
    [["-bv", "state"], 1],
    [["--", "state"], 1],
    [["--root", "/r"], -1],
    [[], -1],
  ];
  for (const [args, at] of table)
    test(JSON.stringify(args), () => expect(findCommand(args, OPTIONS)).toBe(at));
});
