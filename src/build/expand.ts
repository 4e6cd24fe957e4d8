// Dockerfile words as docker's shell lexer reads them (moby/buildkit's shell.Lex): words split
// on unquoted whitespace, "$VAR", "${VAR}", "${VAR:-word}", "${VAR-word}", "${VAR:+word}",
// "${VAR+word}", "${VAR:?message}" expanded from the build's variables, single quotes taking
// everything literally, double quotes expanding but keeping spaces, the escape character (\ or
// the `# escape=` directive's) taking the next character literally. Pure: text and variables in.
import { LeopardError } from "../util/errors.ts";

export type Vars = ReadonlyMap<string, string>;

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

/** Splits on unquoted, unescaped whitespace; quotes and escapes stay for expandWord. */
export function splitWords(s: string, esc = "\\"): string[] {
  const out: string[] = [];
  let cur = "";
  let has = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] ?? "";
    if (c === esc && quote !== "'" && i + 1 < s.length) {
      cur += c + (s[i + 1] ?? "");
      has = true;
      i++;
      continue;
    }
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      cur += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      cur += c;
      has = true;
      continue;
    }
    if (/\s/.test(c)) {
      if (has) out.push(cur);
      cur = "";
      has = false;
      continue;
    }
    cur += c;
    has = true;
  }
  if (quote !== undefined) throw new LeopardError("invalid-argument", `unterminated quote in "${s}"`);
  if (has) out.push(cur);
  return out;
}

/** One word: quotes removed, escapes applied, variables expanded. */
export function expandWord(word: string, vars: Vars, esc = "\\"): string {
  return new Lexer(word, vars, esc).word();
}

/** Words split first, then each expanded (COPY sources, EXPOSE, VOLUME, ...). */
export function expandWords(s: string, vars: Vars, esc = "\\"): string[] {
  return splitWords(s, esc).map((w) => expandWord(w, vars, esc));
}

class Lexer {
  #i = 0;
  constructor(
    readonly s: string,
    readonly vars: Vars,
    readonly esc: string,
  ) {}

  #peek(): string | undefined {
    return this.s[this.#i];
  }

  /** The whole input as one word (stops at `stop` when given, for ${VAR:-word}). */
  word(stop?: string): string {
    let out = "";
    for (let c = this.#peek(); c !== undefined; c = this.#peek()) {
      if (stop !== undefined && c === stop) break;
      if (c === this.esc) {
        this.#i++;
        const n = this.#peek();
        if (n === undefined) {
          out += c;
          break;
        }
        out += n;
        this.#i++;
      } else if (c === "'") {
        this.#i++;
        const end = this.s.indexOf("'", this.#i);
        if (end < 0) throw new LeopardError("invalid-argument", `unterminated single quote in "${this.s}"`);
        out += this.s.slice(this.#i, end);
        this.#i = end + 1;
      } else if (c === '"') {
        this.#i++;
        out += this.#double();
      } else if (c === "$") {
        out += this.#dollar();
      } else {
        out += c;
        this.#i++;
      }
    }
    return out;
  }

  #double(): string {
    let out = "";
    for (let c = this.#peek(); c !== undefined; c = this.#peek()) {
      if (c === '"') {
        this.#i++;
        return out;
      }
      if (c === this.esc) {
        const n = this.s[this.#i + 1];
        // Inside double quotes the escape character only escapes $, ", itself.
        if (n === "$" || n === '"' || n === this.esc) {
          out += n;
          this.#i += 2;
          continue;
        }
        out += c;
        this.#i++;
      } else if (c === "$") out += this.#dollar();
      else {
        out += c;
        this.#i++;
      }
    }
    throw new LeopardError("invalid-argument", `unterminated double quote in "${this.s}"`);
  }

  #name(): string {
    let n = "";
    while (NAME_CHAR.test(this.#peek() ?? "")) {
      n += this.#peek();
      this.#i++;
    }
    return n;
  }

  #dollar(): string {
    this.#i++; // $
    const c = this.#peek();
    if (c === "{") {
      this.#i++;
      const name = this.#name();
      if (name === "") throw new LeopardError("invalid-argument", `bad substitution in "${this.s}"`);
      const v = this.vars.get(name);
      let op = this.#peek();
      if (op === "}") {
        this.#i++;
        return v ?? "";
      }
      let colon = false;
      if (op === ":") {
        colon = true;
        this.#i++;
        op = this.#peek();
      }
      if (op !== "-" && op !== "+" && op !== "?")
        throw new LeopardError("invalid-argument", `unsupported modifier "${op ?? ""}" in "${this.s}"`);
      this.#i++;
      const word = this.word("}");
      if (this.#peek() !== "}") throw new LeopardError("invalid-argument", `missing "}" in "${this.s}"`);
      this.#i++;
      const set = colon ? v !== undefined && v !== "" : v !== undefined;
      if (op === "-") return set ? (v ?? "") : word;
      if (op === "+") return set ? word : "";
      if (!set)
        throw new LeopardError(
          "invalid-argument",
          `${name}: ${word === "" ? "is not allowed to be unset" : word}`,
        );
      return v ?? "";
    }
    if (c !== undefined && NAME_START.test(c)) return this.vars.get(this.#name()) ?? "";
    return "$";
  }
}

/** `KEY=VALUE ...` (values expanded) or the old `KEY VALUE` form (the rest is the value). */
export function keyValues(s: string, vars: Vars, esc = "\\", what = "ENV"): [string, string][] {
  const words = splitWords(s, esc);
  if (words.length === 0) throw new LeopardError("invalid-argument", `${what} needs arguments`);
  if (!(words[0] ?? "").includes("=")) {
    const m = /^\s*(\S+)\s+([\s\S]*?)\s*$/.exec(s);
    if (!m)
      throw new LeopardError("invalid-argument", `${what} needs a value: ${what} NAME VALUE or NAME=VALUE`);
    return [[expandWord(m[1] ?? "", vars, esc), expandWord(m[2] ?? "", vars, esc)]];
  }
  return words.map((w) => {
    const i = w.indexOf("=");
    if (i <= 0) throw new LeopardError("invalid-argument", `${what} "${w}" is not NAME=VALUE`);
    return [expandWord(w.slice(0, i), vars, esc), expandWord(w.slice(i + 1), vars, esc)];
  });
}
