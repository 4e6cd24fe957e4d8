// Encodes a launch plan and the few messages TypeScript sends into frames (see ops.ts).

import { LeopardError } from "../util/errors.ts";
import {
  ArgKind,
  HEADER_SIZE,
  MAGIC,
  MAX_FRAME,
  MAX_STRING,
  MsgType,
  OPS,
  type Op,
  PROTOCOL_VERSION,
} from "./ops.ts";

const enc = new TextEncoder();

class Writer {
  private buf = new Uint8Array(4096);
  private view = new DataView(this.buf.buffer);
  len = 0;
  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void {
    this.reserve(1);
    this.view.setUint8(this.len, v);
    this.len += 1;
  }
  u16(v: number): void {
    this.reserve(2);
    this.view.setUint16(this.len, v, true);
    this.len += 2;
  }
  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.len, v, true);
    this.len += 4;
  }
  setU32(at: number, v: number): void {
    this.view.setUint32(at, v, true);
  }
  u64(v: number | bigint): void {
    this.reserve(8);
    this.view.setBigUint64(this.len, BigInt.asUintN(64, BigInt(v)), true);
    this.len += 8;
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function stringBytes(v: string | Uint8Array, what: string): Uint8Array {
  const b = typeof v === "string" ? enc.encode(v) : v;
  if (b.length > MAX_STRING) throw new LeopardError("protocol", `${what} is longer than ${MAX_STRING} bytes`);
  return b;
}

function cString(v: string, what: string): Uint8Array {
  const b = stringBytes(v, what);
  if (b.includes(0)) throw new LeopardError("protocol", `${what} contains a NUL byte`);
  return b;
}

/** The PLAN payload for a list of ops. */
export function encodeOps(ops: readonly Op[]): Uint8Array {
  const w = new Writer();
  w.u32(ops.length);
  for (const op of ops) {
    const spec = OPS[op.op];
    const argNames = Object.keys(spec.args) as string[];
    w.u16(spec.code);
    w.u16(argNames.length);
    const lenAt = w.len;
    w.u32(0);
    const start = w.len;
    const values = op as unknown as Record<string, unknown>;
    for (const name of argNames) {
      const kind = (spec.args as Record<string, string>)[name];
      const v = values[name];
      const what = `${op.op}.${name}`;
      if (kind === "u64") {
        if (typeof v !== "number" && typeof v !== "bigint")
          throw new LeopardError("protocol", `${what} must be a number`);
        w.u8(ArgKind.U64);
        w.u64(v);
      } else if (kind === "bytes") {
        if (typeof v === "string") {
          const b = cString(v, what);
          w.u8(ArgKind.BYTES);
          w.u32(b.length);
          w.bytes(b);
        } else if (v instanceof Uint8Array) {
          w.u8(ArgKind.BYTES);
          w.u32(v.length);
          w.bytes(stringBytes(v, what));
        } else throw new LeopardError("protocol", `${what} must be a string or bytes`);
      } else if (kind === "data") {
        if (typeof v !== "string" && !(v instanceof Uint8Array))
          throw new LeopardError("protocol", `${what} must be a string or bytes`);
        const b = stringBytes(v, what);
        w.u8(ArgKind.BYTES);
        w.u32(b.length);
        w.bytes(b);
      } else {
        if (!Array.isArray(v)) throw new LeopardError("protocol", `${what} must be a list of strings`);
        w.u8(ArgKind.LIST);
        w.u32(v.length);
        for (const s of v as unknown[]) {
          if (typeof s !== "string") throw new LeopardError("protocol", `${what} must be a list of strings`);
          const b = cString(s, what);
          w.u32(b.length);
          w.bytes(b);
        }
      }
    }
    w.setU32(lenAt, w.len - start);
  }
  return w.done();
}

/** A whole frame: header + payload. */
export function frame(type: MsgType, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const total = HEADER_SIZE + payload.length;
  if (total > MAX_FRAME)
    throw new LeopardError("protocol", `frame of ${total} bytes exceeds the ${MAX_FRAME}-byte limit`);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint16(4, PROTOCOL_VERSION, true);
  view.setUint16(6, type, true);
  view.setUint32(8, payload.length, true);
  out.set(payload, HEADER_SIZE);
  return out;
}

export function planFrame(ops: readonly Op[]): Uint8Array {
  return frame(MsgType.PLAN, encodeOps(ops));
}

export function resumeFrame(tag: number): Uint8Array {
  const p = new Uint8Array(4);
  new DataView(p.buffer).setUint32(0, tag, true);
  return frame(MsgType.RESUME, p);
}
