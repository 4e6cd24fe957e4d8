// How go-template.ts prints values (as Go's fmt %v) and the functions a template may call: Go's
// and, or, not, len, index, comparisons, print/printf/println, and docker's json, join, split,
// lower, upper, title, truncate, pad.
import { bad, type Fn, type Value } from "./go-template-parse.ts";

// ---- printing as Go's fmt %v ----

export const NO_VALUE = Symbol("no value");

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

export const truthy = (v: Value): boolean => {
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
