// A small tar writer (ustar, with pax records for long names and xattrs) for the archives we
// produce: OCI and docker archives on save, the embedded busybox image, and test layers. Data
// comes from memory or streams from a file on disk.

import { LeopardError } from "../util/errors.ts";
import { readChunks } from "./file-stream.ts";

export type TarEntryType = "file" | "dir" | "symlink" | "link" | "char" | "block" | "fifo";

export interface TarEntry {
  name: string;
  type: TarEntryType;
  mode?: number;
  uid?: number;
  gid?: number;
  /** Seconds since the epoch. */
  mtime?: number;
  /** File content: bytes, or a file on disk streamed when written. */
  data?:
    | Uint8Array
    | { path: string; size: number }
    | { stream: () => AsyncIterable<Uint8Array>; size: number };
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, string | Uint8Array>;
}

const TYPEFLAG: Record<TarEntryType, string> = {
  file: "0",
  link: "1",
  symlink: "2",
  char: "3",
  block: "4",
  dir: "5",
  fifo: "6",
};

const enc = new TextEncoder();

function octal(buf: Uint8Array, off: number, len: number, value: number): void {
  const s = value.toString(8).padStart(len - 1, "0");
  buf.set(enc.encode(s.slice(-(len - 1))), off);
  buf[off + len - 1] = 0;
}

function paxRecord(key: string, value: Uint8Array): Uint8Array {
  const body = concat(enc.encode(` ${key}=`), value, enc.encode("\n"));
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return concat(enc.encode(String(len)), body);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function header(name: Uint8Array, e: TarEntry, size: number, typeflag: string, link: Uint8Array): Uint8Array {
  const h = new Uint8Array(512);
  h.set(name.subarray(0, 100), 0);
  octal(h, 100, 8, (e.mode ?? (e.type === "dir" ? 0o755 : 0o644)) & 0o7777);
  octal(h, 108, 8, e.uid ?? 0);
  octal(h, 116, 8, e.gid ?? 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, Math.floor(e.mtime ?? 0));
  h.fill(0x20, 148, 156);
  h[156] = typeflag.charCodeAt(0);
  h.set(link.subarray(0, 100), 157);
  h.set(enc.encode("ustar\u000000"), 257);
  octal(h, 329, 8, e.devmajor ?? 0);
  octal(h, 337, 8, e.devminor ?? 0);
  let sum = 0;
  for (const b of h) sum += b;
  const s = enc.encode(sum.toString(8).padStart(6, "0"));
  h.set(s, 148);
  h[154] = 0;
  h[155] = 0x20;
  return h;
}

function padding(size: number): Uint8Array {
  return new Uint8Array((512 - (size % 512)) % 512);
}

/** The header blocks (pax record if needed, then ustar) for one entry. */
export function entryHeader(e: TarEntry): Uint8Array {
  const size = e.type === "file" ? (e.data instanceof Uint8Array ? e.data.length : (e.data?.size ?? 0)) : 0;
  const name = enc.encode(e.type === "dir" && !e.name.endsWith("/") ? `${e.name}/` : e.name);
  const link = enc.encode(e.linkname ?? "");
  const records: Uint8Array[] = [];
  if (name.length > 100) records.push(paxRecord("path", name));
  if (link.length > 100) records.push(paxRecord("linkpath", link));
  if (size > 0o77777777777) records.push(paxRecord("size", enc.encode(String(size))));
  for (const [k, v] of Object.entries(e.xattrs ?? {})) {
    records.push(paxRecord(`SCHILY.xattr.${k}`, typeof v === "string" ? enc.encode(v) : v));
  }
  const main = header(name, e, size > 0o77777777777 ? 0 : size, TYPEFLAG[e.type], link);
  if (records.length === 0) return main;
  const pax = concat(...records);
  const paxName = enc.encode(`PaxHeaders/${e.name.split("/").filter(Boolean).pop() ?? "x"}`.slice(0, 99));
  return concat(
    header(paxName, { name: "", type: "file" }, pax.length, "x", new Uint8Array(0)),
    pax,
    padding(pax.length),
    main,
  );
}

/** Streams a whole archive: each entry's header and data, then two zero blocks. */
export async function* tarStream(
  entries: Iterable<TarEntry> | AsyncIterable<TarEntry>,
): AsyncGenerator<Uint8Array> {
  for await (const e of entries) {
    yield entryHeader(e);
    if (e.type !== "file" || e.data === undefined) continue;
    if (e.data instanceof Uint8Array) {
      yield e.data;
      yield padding(e.data.length);
    } else {
      const src = "path" in e.data ? readChunks(e.data.path) : e.data.stream();
      let n = 0;
      for await (const c of src) {
        n += c.length;
        yield c;
      }
      if (n !== e.data.size)
        throw new LeopardError(
          "system",
          `entry "${e.name}" is ${n} bytes where ${e.data.size} were announced (it changed while being archived)`,
        );
      yield padding(n);
    }
  }
  yield new Uint8Array(1024);
}

/** A whole archive in memory (tests, small layers). */
export async function tarBytes(entries: Iterable<TarEntry>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of tarStream(entries)) parts.push(c);
  return concat(...parts);
}
