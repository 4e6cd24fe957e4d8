// The parser of go-template.ts: a template's text into nodes (text, output actions, if/with/range
// with else), each action a pipeline of commands over fields, variables, literals and functions.
import { LeopardError } from "../util/errors.ts";

export type Value = unknown;
export type Fn = (...args: Value[]) => Value;

export interface Pipe {
  decl: string[];
  cmds: Arg[][];
}
export type Arg =
  | { k: "field"; base: Arg | undefined; chain: string[] }
  | { k: "var"; name: string; chain: string[] }
  | { k: "lit"; v: Value }
  | { k: "fn"; name: string }
  | { k: "pipe"; p: Pipe };
export type Node =
  | { k: "text"; s: string }
  | { k: "out"; p: Pipe }
  | { k: "if" | "with"; p: Pipe; body: Node[]; else: Node[] }
  | { k: "range"; p: Pipe; body: Node[]; else: Node[] };

export const bad = (msg: string): LeopardError => new LeopardError("invalid-argument", `template: ${msg}`);

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
