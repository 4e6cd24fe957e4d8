// docker's --format / -f: Go's text/template, the subset docker users write, evaluated over plain
// objects. Written here rather than taken from npm: the JavaScript ports found (go-text-template,
// one release and a handful of downloads; gotemplate-node, which compiles templates to code and
// evals it; go-text-template-napi, a native binary fetched at install) are neither well kept nor
// safe to hand a user's string. Supported: text and actions with {{- -}} trimming; fields and
// chains (.A.B, a function-valued field called with arguments: .Label "k"), $ and variables
// ($v := …), pipelines, parentheses, string/number/bool literals; if/else if/else, range (over
// lists and maps, with $i, $v :=) and with; Go's and, or, not, len, index, eq, ne, lt, le, gt,
// ge, print, printf (%s %d %v %q), println; docker's json, join, split, lower, upper, title,
// truncate, pad. Values print as Go's fmt does (nil as <nil>, a missing key as <no value>, a
// list as [a b], a map as map[k:v]). Errors are one line naming the template's problem.
import { LeopardError } from "../util/errors.ts";

type Value = unknown;
type Fn = (...args: Value[]) => Value;

interface Pipe {
  decl: string[];
  cmds: Arg[][];
}
type Arg =
  | { k: "field"; base: Arg | undefined; chain: string[] }
  | { k: "var"; name: string; chain: string[] }
  | { k: "lit"; v: Value }
  | { k: "fn"; name: string }
  | { k: "pipe"; p: Pipe };
type Node =
  | { k: "text"; s: string }
  | { k: "out"; p: Pipe }
  | { k: "if" | "with"; p: Pipe; body: Node[]; else: Node[] }
  | { k: "range"; p: Pipe; body: Node[]; else: Node[] };

const bad = (msg: string): LeopardError => new LeopardError("invalid-argument", `template: ${msg}`);

// ---- lexing actions ----

function tokenize(src: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] ?? "";
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === "\\" ? 2 : 1;
      if (j >= src.length) throw bad(`unterminated quoted string in "${src}"`);
      out.push(src.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    if (c === "`") {
      const j = src.indexOf("`", i + 1);
      if (j < 0) throw bad(`unterminated raw string in "${src}"`);
      out.push(src.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    if ("()|,".includes(c)) {
      out.push(c);
      i++;
      continue;
    }
    if (c === ":" && src[i + 1] === "=") {
      out.push(":=");
      i += 2;
      continue;
    }
    if (c === "=") {
      out.push("=");
      i++;
      continue;
    }
    const m = /^[^\s()|,:=]+/.exec(src.slice(i));
    if (!m) throw bad(`unexpected "${c}" in "${src}"`);
    // ".Config.Labels" and "(x).Field" stay one word; a field chain after ")" is glued below.
    out.push(m[0]);
    i += m[0].length;
  }
  return out;
}

class Parser {
  pos = 0;
  constructor(readonly toks: string[]) {}
  peek(): string | undefined {
    return this.toks[this.pos];
  }
  next(): string | undefined {
    return this.toks[this.pos++];
  }

  pipe(): Pipe {
    const decl: string[] = [];
    // $v := … or $i, $v := …
    const save = this.pos;
    const names: string[] = [];
    while (this.peek()?.startsWith("$")) {
      names.push(this.next() ?? "");
      if (this.peek() === ",") this.next();
      else break;
    }
    if (names.length > 0 && (this.peek() === ":=" || this.peek() === "=")) {
      this.next();
      decl.push(...names);
    } else this.pos = save;
    const cmds: Arg[][] = [[]];
    for (;;) {
      const t = this.peek();
      if (t === undefined || t === ")") break;
      if (t === "|") {
        this.next();
        if ((cmds.at(-1) ?? []).length === 0) throw bad("missing command before |");
        cmds.push([]);
        continue;
      }
      cmds.at(-1)?.push(this.operand());
    }
    if ((cmds.at(-1) ?? []).length === 0) throw bad("missing value for command");
    return { decl, cmds };
  }

  operand(): Arg {
    const t = this.next() ?? "";
    let a: Arg;
    if (t === "(") {
      const p = this.pipe();
      if (this.next() !== ")") throw bad("unclosed left paren");
      a = { k: "pipe", p };
    } else if (t === ".") a = { k: "field", base: undefined, chain: [] };
    else if (t.startsWith(".")) a = { k: "field", base: undefined, chain: t.slice(1).split(".") };
    else if (t.startsWith("$")) {
      const [name = "$", ...chain] = t.split(".");
      a = { k: "var", name, chain };
    } else if (t.startsWith('"')) a = { k: "lit", v: JSON.parse(t.replaceAll("\\'", "'")) as string };
    else if (t.startsWith("`")) a = { k: "lit", v: t.slice(1, -1) };
    else if (t === "true" || t === "false") a = { k: "lit", v: t === "true" };
    else if (t === "nil") a = { k: "lit", v: null };
    else if (/^[-+]?\d/.test(t)) {
      const n = Number(t);
      if (Number.isNaN(n)) throw bad(`bad number syntax: "${t}"`);
      a = { k: "lit", v: n };
    } else if (/^[A-Za-z_]\w*$/.test(t)) a = { k: "fn", name: t };
    else throw bad(`unexpected "${t}" in command`);
    // (pipeline).Field
    const after = this.peek();
    if (a.k === "pipe" && after?.startsWith(".") && after.length > 1) {
      this.next();
      return { k: "field", base: a, chain: after.slice(1).split(".") };
    }
    return a;
  }
}

function parseAction(src: string): Pipe {
  const p = new Parser(tokenize(src));
  const pipe = p.pipe();
  if (p.pos < p.toks.length) throw bad(`unexpected "${p.peek()}" in "${src}"`);
  return pipe;
}

/** The template's tree; throws on a syntax error. */
export function parseTemplate(text: string): Node[] {
  const root: Node[] = [];
  const stack: { node: Node & { body: Node[]; else: Node[] }; inElse: boolean; chained: number }[] = [];
  const target = (): Node[] => {
    const top = stack.at(-1);
    return top === undefined ? root : top.inElse ? top.node.else : top.node.body;
  };
  let i = 0;
  let trimNext = false;
  while (i < text.length) {
    const open = text.indexOf("{{", i);
    let chunk = open < 0 ? text.slice(i) : text.slice(i, open);
    if (trimNext) chunk = chunk.replace(/^\s+/, "");
    trimNext = false;
    if (open < 0) {
      if (chunk !== "") target().push({ k: "text", s: chunk });
      break;
    }
    let start = open + 2;
    if (text[start] === "-" && /\s/.test(text[start + 1] ?? "")) {
      chunk = chunk.replace(/\s+$/, "");
      start++;
    }
    if (chunk !== "") target().push({ k: "text", s: chunk });
    const close = text.indexOf("}}", start);
    if (close < 0) throw bad(`unclosed action in "${text}"`);
    let end = close;
    if (text[close - 1] === "-" && /\s/.test(text[close - 2] ?? "")) {
      end--;
      trimNext = true;
    }
    const body = text.slice(start, end).trim();
    i = close + 2;
    if (body.startsWith("/*")) continue;
    const word = /^(\w+)\b\s*([\s\S]*)$/.exec(body);
    const kw = word?.[1] ?? "";
    const rest = word?.[2] ?? "";
    if (kw === "if" || kw === "with" || kw === "range") {
      const node = { k: kw, p: parseAction(rest), body: [], else: [] } as Node & {
        body: Node[];
        else: Node[];
      };
      target().push(node);
      stack.push({ node, inElse: false, chained: 0 });
    } else if (kw === "else") {
      const top = stack.at(-1);
      if (top === undefined || top.inElse) throw bad("unexpected {{else}}");
      top.inElse = true;
      const chain = /^(if|with)\b\s*([\s\S]*)$/.exec(rest);
      if (chain) {
        const node = {
          k: chain[1] as "if" | "with",
          p: parseAction(chain[2] ?? ""),
          body: [],
          else: [],
        } as Node & { body: Node[]; else: Node[] };
        top.node.else.push(node);
        stack.push({ node, inElse: false, chained: top.chained + 1 });
      } else if (rest !== "") throw bad(`unexpected "${rest}" after else`);
    } else if (kw === "end") {
      let top = stack.pop();
      if (top === undefined) throw bad("unexpected {{end}}");
      while (top !== undefined && top.chained > 0) top = stack.pop();
    } else if (
      kw === "define" ||
      kw === "template" ||
      kw === "block" ||
      kw === "break" ||
      kw === "continue"
    ) {
      throw bad(`{{${kw}}} is not supported`);
    } else target().push({ k: "out", p: parseAction(body) });
  }
  if (stack.length > 0) throw bad(`unexpected EOF: {{${stack.at(-1)?.node.k}}} has no {{end}}`);
  return root;
}

// ---- printing as Go's fmt %v ----

const NO_VALUE = Symbol("no value");

export function goString(v: Value): string {
  if (v === NO_VALUE) return "<no value>";
  if (v === null || v === undefined) return "<nil>";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (Array.isArray(v)) return `[${v.map(goString).join(" ")}]`;
  if (typeof v === "function") return "<func>";
  const o = v as Record<string, Value>;
  return `map[${Object.keys(o)
    .sort()
    .map((k) => `${k}:${goString(o[k])}`)
    .join(" ")}]`;
}

const truthy = (v: Value): boolean => {
  if (v === NO_VALUE || v === null || v === undefined || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return Object.keys(v as object).length > 0;
  return true;
};

function printf(format: unknown, ...args: Value[]): string {
  let n = 0;
  return String(format).replace(
    /%([-+ 0#]*\d*(?:\.\d+)?)([svdqtf%])/g,
    (_m, _flags: string, verb: string) => {
      if (verb === "%") return "%";
      const a = args[n++];
      if (verb === "q") return JSON.stringify(goString(a));
      if (verb === "d") return String(Math.trunc(Number(a)));
      if (verb === "f") return Number(a).toFixed(6);
      return goString(a);
    },
  );
}

const cmp = (a: Value, b: Value): number => {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  throw bad(`incompatible types for comparison: ${goString(a)} and ${goString(b)}`);
};

/** Go's builtins and docker's template functions. */
export const FUNCS: Readonly<Record<string, Fn>> = {
  and: (...a) => a.find((x) => !truthy(x)) ?? a.at(-1),
  or: (...a) => a.find((x) => truthy(x)) ?? a.at(-1),
  not: (a) => !truthy(a),
  len: (a) => {
    if (typeof a === "string" || Array.isArray(a)) return a.length;
    if (a !== null && typeof a === "object") return Object.keys(a).length;
    throw bad(`len of ${goString(a)}`);
  },
  index: (a, ...keys) => {
    let v = a;
    for (const k of keys) {
      if (Array.isArray(v)) {
        if (typeof k !== "number" || k < 0 || k >= v.length) throw bad(`index out of range: ${goString(k)}`);
        v = v[k];
      } else if (v !== null && typeof v === "object") {
        const o = v as Record<string, Value>;
        v = Object.hasOwn(o, String(k)) ? o[String(k)] : NO_VALUE;
      } else if (v === null || v === undefined || v === NO_VALUE) v = NO_VALUE;
      else throw bad(`can't index item of type ${typeof v}`);
    }
    return v;
  },
  eq: (a, ...bs) => bs.some((b) => a === b),
  ne: (a, b) => a !== b,
  lt: (a, b) => cmp(a, b) < 0,
  le: (a, b) => cmp(a, b) <= 0,
  gt: (a, b) => cmp(a, b) > 0,
  ge: (a, b) => cmp(a, b) >= 0,
  print: (...a) => a.map(goString).join(""),
  printf: (f, ...a) => printf(f, ...a),
  println: (...a) => `${a.map(goString).join(" ")}\n`,
  json: (a) => JSON.stringify(a === NO_VALUE || a === undefined ? null : a),
  join: (a, sep) => (Array.isArray(a) ? a.map(goString).join(String(sep)) : goString(a)),
  split: (a, sep) => String(a).split(String(sep)),
  lower: (a) => goString(a).toLowerCase(),
  upper: (a) => goString(a).toUpperCase(),
  title: (a) =>
    goString(a).replace(/(^|[^\p{L}\p{N}'])(\p{L})/gu, (_m, p: string, c: string) => p + c.toUpperCase()),
  truncate: (a, n) => [...goString(a)].slice(0, Number(n)).join(""),
  pad: (a, l, r) => `${" ".repeat(Number(l))}${goString(a)}${" ".repeat(Number(r))}`,
};

// ---- evaluation ----

interface Scope {
  dot: Value;
  vars: Map<string, Value>;
}

function field(v: Value, name: string, args: Value[], last: boolean): Value {
  if (v === null || v === undefined || v === NO_VALUE) {
    if (v === NO_VALUE) return NO_VALUE;
    throw bad(`nil pointer evaluating .${name}`);
  }
  if (typeof v !== "object") throw bad(`can't evaluate field ${name} in type ${typeof v}`);
  const o = v as Record<string, Value>;
  if (!(name in o)) {
    // A map (docker's Labels) has no fixed fields; a record (a container) does.
    if ((o as { [MAP]?: boolean })[MAP] === true) return NO_VALUE;
    throw bad(`can't evaluate field ${name}`);
  }
  const f = o[name];
  if (typeof f === "function") return (f as Fn).apply(o, last ? args : []);
  if (last && args.length > 0) throw bad(`${name} is not a method but has arguments`);
  return f;
}

/** Marks an object as a map: a missing key is <no value>, not an error (see asMap). */
const MAP = Symbol("map");
export function asMap<T extends object>(o: T): T {
  Object.defineProperty(o, MAP, { value: true, enumerable: false });
  return o;
}

function chainOf(base: Value, chain: string[], args: Value[]): Value {
  let v = base;
  chain.forEach((name, i) => {
    v = field(v, name, args, i === chain.length - 1);
  });
  return v;
}

function evalArg(a: Arg, s: Scope, args: Value[] = [], piped: Value[] = []): Value {
  switch (a.k) {
    case "lit":
      return a.v;
    case "pipe":
      return evalPipe(a.p, s);
    case "var": {
      if (!s.vars.has(a.name)) throw bad(`undefined variable: ${a.name}`);
      return chainOf(s.vars.get(a.name), a.chain, [...args, ...piped]);
    }
    case "field": {
      const base = a.base === undefined ? s.dot : evalArg(a.base, s);
      return chainOf(base, a.chain, [...args, ...piped]);
    }
    case "fn": {
      const f = FUNCS[a.name];
      if (f === undefined) throw bad(`function "${a.name}" not defined`);
      return f(...args, ...piped);
    }
  }
}

function evalPipe(p: Pipe, s: Scope): Value {
  let piped: Value[] = [];
  for (const cmd of p.cmds) {
    const [head, ...rest] = cmd;
    if (head === undefined) throw bad("empty command");
    const args = rest.map((r) => evalArg(r, s));
    if ((head.k === "lit" || head.k === "pipe") && (args.length > 0 || piped.length > 0))
      throw bad("can't give argument to non-function");
    piped = [evalArg(head, s, args, piped)];
  }
  const v = piped[0];
  if (p.decl.length === 1) s.vars.set(p.decl[0] ?? "", v);
  return v;
}

function execNodes(nodes: Node[], s: Scope, out: string[]): void {
  for (const n of nodes) {
    switch (n.k) {
      case "text":
        out.push(n.s);
        break;
      case "out": {
        const v = evalPipe(n.p, s);
        if (n.p.decl.length === 0) out.push(goString(v));
        break;
      }
      case "if":
      case "with": {
        const v = evalPipe(n.p, s);
        if (truthy(v)) execNodes(n.body, n.k === "with" ? { dot: v, vars: new Map(s.vars) } : s, out);
        else execNodes(n.else, s, out);
        break;
      }
      case "range": {
        const decl = n.p.decl;
        const v = evalPipe({ ...n.p, decl: [] }, s);
        const items: [Value, Value][] = Array.isArray(v)
          ? v.map((x, i) => [i, x])
          : v !== null && typeof v === "object"
            ? Object.keys(v)
                .sort()
                .map((k) => [k, (v as Record<string, Value>)[k]])
            : typeof v === "number"
              ? Array.from({ length: v }, (_, i) => [i, i])
              : v === null || v === undefined || v === NO_VALUE
                ? []
                : (() => {
                    throw bad(`range can't iterate over ${goString(v)}`);
                  })();
        if (items.length === 0) {
          execNodes(n.else, s, out);
          break;
        }
        for (const [k, x] of items) {
          const vars = new Map(s.vars);
          if (decl.length === 1) vars.set(decl[0] ?? "", x);
          if (decl.length === 2) {
            vars.set(decl[0] ?? "", k);
            vars.set(decl[1] ?? "", x);
          }
          execNodes(n.body, { dot: x, vars }, out);
        }
        break;
      }
    }
  }
}

export interface Template {
  render(data: Value): string;
}

/** Parses once; render runs it over one value (errors name the template's problem). */
export function compileTemplate(text: string): Template {
  const nodes = parseTemplate(text);
  return {
    render(data: Value): string {
      const out: string[] = [];
      execNodes(nodes, { dot: data, vars: new Map([["$", data]]) }, out);
      return out.join("");
    },
  };
}
