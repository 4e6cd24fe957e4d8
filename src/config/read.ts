// Readers that turn `unknown` JSON values into typed ones or throw a SpecError naming the
// field. Absent and null read alike (Go's encoding/json, which every spec writer uses, does
// the same), and only own properties count, so "constructor" is never read from a prototype.
import { SpecError } from "./errors.ts";

export type JsonObject = Readonly<Record<string, unknown>>;

/** Largest integer a JSON number holds exactly (int64/uint64 fields beyond it lose precision). */
const SAFE = Number.MAX_SAFE_INTEGER;
const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** `a` + `b` → `a.b` */
export function at(field: string, key: string): string {
  return field === "" ? key : `${field}.${key}`;
}

/** `a` + 3 → `a[3]` */
export function nth(field: string, i: number): string {
  return `${field}[${i}]`;
}

/** `a` + `k` → `a["k"]`, for keys that are data (sysctl names, annotations). */
export function entry(field: string, key: string): string {
  return `${field}[${JSON.stringify(key)}]`;
}

/** A value as a message shows it: strings JSON-quoted, numbers as they are. */
export function quote(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint" || v === null)
    return String(v);
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : typeof v;
}

/** Throw `config.json: <field> <problem>`. */
export function fail(field: string, problem: string): never {
  throw new SpecError(field, `${field} ${problem}`);
}

/** Throw a sentence that does not start with the field name. */
export function failWith(field: string, sentence: string): never {
  throw new SpecError(field, sentence);
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** obj[key], or undefined when it is absent, null, or not the object's own. */
export function get(obj: JsonObject, key: string): unknown {
  return Object.hasOwn(obj, key) ? (obj[key] ?? undefined) : undefined;
}

/** Read obj.key with `read` when it is present; undefined when it is absent or null. */
export function opt<T>(
  obj: JsonObject,
  key: string,
  field: string,
  read: (v: unknown, f: string) => T,
): T | undefined {
  const v = get(obj, key);
  return v === undefined ? undefined : read(v, at(field, key));
}

/** Read obj.key with `read`; absent or null is an error. */
export function req<T>(obj: JsonObject, key: string, field: string, read: (v: unknown, f: string) => T): T {
  const v = get(obj, key);
  const f = at(field, key);
  if (v === undefined) fail(f, "must be set");
  return read(v, f);
}

export function object(v: unknown, field: string): JsonObject {
  if (!isObject(v)) fail(field, "must be an object");
  return v;
}

export function string(v: unknown, field: string): string {
  if (typeof v !== "string") fail(field, "must be a string");
  if (v.includes("\0")) fail(field, `${quote(v)} contains a NUL byte`);
  return v;
}

export function nonEmptyString(v: unknown, field: string): string {
  const s = string(v, field);
  if (s === "") fail(field, "must not be empty");
  return s;
}

export function boolean(v: unknown, field: string): boolean {
  if (typeof v !== "boolean") fail(field, "must be true or false");
  return v;
}

/** An integer in [min, max]. */
export function integer(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v)) fail(field, "must be an integer");
  if (v < min || v > max) fail(field, `${v} is out of range (${min} to ${max})`);
  return v;
}

export const int32 = (v: unknown, f: string): number => integer(v, f, -0x8000_0000, 0x7fff_ffff);
export const uint32 = (v: unknown, f: string): number => integer(v, f, 0, 0xffff_ffff);
/** int64 as far as a JSON number is exact. */
export const int64 = (v: unknown, f: string): number => integer(v, f, -SAFE, SAFE);
/** uint64 as far as a JSON number is exact. */
export const uint64n = (v: unknown, f: string): number => integer(v, f, 0, SAFE);

/**
 * A full uint64 as a bigint. 18446744073709551615 (all ones: RLIM_INFINITY, masks) parses to
 * exactly 2^64 as a double, so 2^64 is read back as 2^64-1.
 */
export function uint64(v: unknown, field: string): bigint {
  if (typeof v !== "number" || !Number.isInteger(v)) fail(field, "must be an integer");
  if (v < 0 || v > 2 ** 64) fail(field, `${v} is out of range (0 to ${U64_MAX})`);
  return v === 2 ** 64 ? U64_MAX : BigInt(v);
}

/** A uid or gid: 0 to 2^32-2 ((uid_t)-1 means "unchanged" to the kernel, never an id). */
export function id(v: unknown, field: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffff_fffe) {
    fail(field, `${quote(v)} is not a valid id`);
  }
  return v;
}

export function array(v: unknown, field: string): readonly unknown[] {
  if (!Array.isArray(v)) fail(field, "must be an array");
  return v;
}

/** Read each element with `read`, naming it `field[i]`. */
export function list<T>(v: unknown, field: string, read: (e: unknown, f: string) => T): T[] {
  return array(v, field).map((e, i) => read(e, nth(field, i)));
}

export function strings(v: unknown, field: string): string[] {
  return list(v, field, string);
}

/** A string that starts with "/". */
export function absolute(v: unknown, field: string): string {
  const s = string(v, field);
  if (!s.startsWith("/")) fail(field, `${quote(s)} must be an absolute path`);
  return s;
}

export function absolutes(v: unknown, field: string): string[] {
  return list(v, field, absolute);
}

/** An object whose values are all strings. */
export function stringMap(v: unknown, field: string): Record<string, string> {
  const o = object(v, field);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(o)) {
    if (k === "") fail(field, "has an empty key");
    out[k] = string(val, entry(field, k));
  }
  return out;
}

/** One of `allowed`; otherwise `<field> "x" is not <what>` (with `hint` in parentheses if given). */
export function oneOf<T extends string>(
  v: unknown,
  field: string,
  allowed: readonly T[],
  what: string,
  hint?: string,
): T {
  const s = string(v, field);
  if (!(allowed as readonly string[]).includes(s))
    fail(field, `${quote(s)} is not ${what}${hint ? ` (${hint})` : ""}`);
  return s as T;
}

/** `"a", "b" or "c"` */
export function orList(values: readonly string[]): string {
  const q = values.map((v) => JSON.stringify(v));
  return q.length < 2 ? q.join("") : `${q.slice(0, -1).join(", ")} or ${q.at(-1)}`;
}

/** The first value that occurs twice, if any. */
export function firstDuplicate<T>(values: Iterable<T>): T | undefined {
  const seen = new Set<T>();
  for (const v of values) {
    if (seen.has(v)) return v;
    seen.add(v);
  }
  return undefined;
}
