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
// Parsing is in go-template-parse.ts, printing and the functions in go-template-funcs.ts.

import { FUNCS, goString, NO_VALUE, truthy } from "./go-template-funcs.ts";
import {
  type Arg,
  bad,
  type Fn,
  type Node,
  type Pipe,
  parseTemplate,
  type Value,
} from "./go-template-parse.ts";

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
