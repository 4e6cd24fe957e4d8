// A Dockerfile's text → its instructions, read by dockerfile-ast (the parser of VS Code's Docker
// support: line continuations, comments, the `# escape=` directive, flags, JSON forms), then
// checked the way docker checks them: an unknown instruction, a flag the instruction does not
// take, a missing argument, anything but ARG before the first FROM is an error naming the file
// and line. Pure: text in, instructions out.
import { DockerfileParser, type Instruction } from "dockerfile-ast";
import { LeopardError } from "../util/errors.ts";

export interface Instr {
  /** 1-based line of the keyword. */
  line: number;
  keyword: string;
  /** The arguments with line continuations joined, flags left out. */
  args: string;
  flags: Record<string, string>;
  /** The exec (JSON) form's strings, when the arguments are a JSON array of strings. */
  json?: string[] | undefined;
  /** The instruction as written, continuations joined (history's created_by, cache keys). */
  text: string;
  /** ONBUILD's trigger, parsed as an instruction of its own. */
  trigger?: Instr | undefined;
  /** Here-documents (`<<EOT` … `EOT`), in the order the first line names them. */
  heredocs?: Heredoc[] | undefined;
  /** With heredocs: the arguments' first line alone (args keeps the whole text). */
  firstLine?: string | undefined;
}

export interface Heredoc {
  name: string;
  content: string;
  /** A quoted name (<<"EOT") takes the content literally: no variable expansion. */
  literal: boolean;
}

const HEREDOC = /<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g;

/** Splits `<<EOT` here-documents off an instruction's arguments (RUN, COPY, ADD). */
export function heredocs(args: string): { firstLine: string; docs: Heredoc[] } | undefined {
  const nl = args.indexOf("\n");
  if (nl < 0) return undefined;
  const firstLine = args.slice(0, nl);
  const marks = [...firstLine.matchAll(HEREDOC)];
  if (marks.length === 0) return undefined;
  const lines = args.slice(nl + 1).split("\n");
  const docs: Heredoc[] = [];
  let at = 0;
  for (const m of marks) {
    const strip = m[1] === "-";
    const name = m[3] ?? "";
    const body: string[] = [];
    let closed = false;
    for (; at < lines.length; at++) {
      const raw = lines[at] ?? "";
      const line = strip ? raw.replace(/^\t+/, "") : raw;
      if (line === name) {
        closed = true;
        at++;
        break;
      }
      body.push(line);
    }
    if (!closed)
      throw new LeopardError("invalid-argument", `here-document "${name}" has no closing "${name}" line`);
    docs.push({ name, content: body.length > 0 ? `${body.join("\n")}\n` : "", literal: m[2] !== "" });
  }
  return { firstLine, docs };
}

export interface ParsedDockerfile {
  instructions: Instr[];
  escape: string;
}

/** Flags each instruction takes; "" marks one without flags. */
const FLAGS: Record<string, readonly string[]> = {
  FROM: ["platform"],
  RUN: ["network"],
  CMD: [],
  LABEL: [],
  MAINTAINER: [],
  EXPOSE: [],
  ENV: [],
  ADD: ["chown", "chmod", "checksum", "link"],
  COPY: ["from", "chown", "chmod", "link"],
  ENTRYPOINT: [],
  VOLUME: [],
  USER: [],
  WORKDIR: [],
  ARG: [],
  ONBUILD: [],
  STOPSIGNAL: [],
  HEALTHCHECK: ["interval", "timeout", "start-period", "start-interval", "retries"],
  SHELL: [],
};

/** Instructions that take JSON arrays as their exec form. */
const JSON_FORMS = new Set(["RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME"]);
const NEED_ARGS = new Set(Object.keys(FLAGS).filter((k) => k !== "HEALTHCHECK"));

export class DockerfileError extends LeopardError {
  constructor(file: string, line: number, message: string) {
    super("invalid-argument", `${file}:${line}: ${message}`);
  }
}

function jsonArray(args: string): string[] | undefined {
  if (!args.trimStart().startsWith("[")) return undefined;
  try {
    const v = JSON.parse(args) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
  } catch {
    // not JSON: the shell form, as docker reads it
  }
  return undefined;
}

function convert(i: Instruction, file: string, nested: boolean): Instr {
  const line = i.getRange().start.line + 1;
  const keyword = i.getKeyword().toUpperCase();
  const fail = (m: string) => new DockerfileError(file, line, m);
  const allowed = FLAGS[keyword];
  if (allowed === undefined) throw fail(`unknown instruction "${i.getKeyword()}"`);
  const flags: Record<string, string> = {};
  const withFlags = i as Instruction & {
    getFlags?: () => { getName(): string; getValue(): string | null }[];
  };
  let args = i.getArgumentsContent() ?? "";
  if (typeof withFlags.getFlags === "function") {
    for (const f of withFlags.getFlags()) {
      const name = f.getName();
      if (!allowed.includes(name)) throw fail(`${keyword} does not take the flag "--${name}"`);
      if (f.getValue() === null) throw fail(`${keyword} --${name} needs a value`);
      flags[name] = f.getValue() ?? "";
    }
  } else if (/^\s*--[a-z]/.test(args) && keyword !== "ONBUILD") {
    throw fail(`${keyword} does not take flags ("${args.split(/\s/)[0]}")`);
  }
  args = args.trim();
  if (NEED_ARGS.has(keyword) && args === "") throw fail(`${keyword} needs at least one argument`);
  const text = `${keyword} ${Object.entries(flags)
    .map(([k, v]) => `--${k}=${v} `)
    .join("")}${args}`;
  const out: Instr = { line, keyword, args, flags, text };
  if (JSON_FORMS.has(keyword)) out.json = jsonArray(args);
  if (out.json === undefined && (keyword === "RUN" || keyword === "COPY" || keyword === "ADD")) {
    let h: ReturnType<typeof heredocs>;
    try {
      h = heredocs(args);
    } catch (e) {
      throw fail((e as Error).message);
    }
    if (h !== undefined) {
      out.heredocs = h.docs;
      out.firstLine = h.firstLine;
    }
  }
  if (keyword === "ONBUILD") {
    if (nested) throw fail("ONBUILD cannot be nested");
    const t = (
      i as Instruction & { getTriggerInstruction?: () => Instruction | null }
    ).getTriggerInstruction?.();
    if (!t) throw fail("ONBUILD needs an instruction");
    const trig = convert(t, file, true);
    if (trig.keyword === "FROM" || trig.keyword === "MAINTAINER")
      throw fail(`${trig.keyword} is not allowed as an ONBUILD trigger`);
    out.trigger = trig;
  }
  return out;
}

/** Parses and checks a Dockerfile; `file` names it in errors. */
export function parseDockerfile(text: string, file = "Dockerfile"): ParsedDockerfile {
  const d = DockerfileParser.parse(text);
  const instructions = d.getInstructions().map((i) => convert(i, file, false));
  const first = instructions.find((i) => i.keyword !== "ARG");
  if (first === undefined) throw new DockerfileError(file, 1, "the file has no FROM instruction");
  if (first.keyword !== "FROM")
    throw new DockerfileError(
      file,
      first.line,
      `${first.keyword} before the first FROM: every stage starts with FROM`,
    );
  return { instructions, escape: d.getEscapeCharacter() };
}
