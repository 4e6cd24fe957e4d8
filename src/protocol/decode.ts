// Decodes the frames the helper sends to TypeScript (see ops.ts).
import { HEADER_SIZE, MAGIC, MsgType, OP_NAMES, PROTOCOL_VERSION } from "./ops.ts";

/** When the helper started each op (CLOCK_MONOTONIC ns), from op `first` on; the last stamp ends the last op. */
export interface OpTimes {
  first: number;
  stamps: bigint[];
}

export type HelperMessage =
  | { type: "sync"; tag: number; pid: number }
  | { type: "pid"; pid: number; times: OpTimes }
  | { type: "ready"; times: OpTimes }
  | { type: "pty" }
  | { type: "error"; index: number; op: string; errno: number; path: string; message: string };

const dec = new TextDecoder();

export class ProtocolError extends Error {
  override name = "ProtocolError";
}

/** u32 first, u32 count, count u64 stamps, filling exactly `len` bytes from `at`. */
function opTimes(view: DataView, at: number, len: number): OpTimes {
  const first = view.getUint32(at, true);
  const count = view.getUint32(at + 4, true);
  if (len !== 8 + 8 * count) throw new ProtocolError(`op times of ${count} stamps in ${len} bytes`);
  const stamps: bigint[] = [];
  for (let i = 0; i < count; i++) stamps.push(view.getBigUint64(at + 8 + 8 * i, true));
  return { first, stamps };
}

/** Parses one frame from the helper; throws ProtocolError on anything malformed. */
export function decodeMessage(buf: Uint8Array): HelperMessage {
  if (buf.length < HEADER_SIZE) throw new ProtocolError(`short frame of ${buf.length} bytes`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw new ProtocolError("bad frame magic");
  const version = view.getUint16(4, true);
  if (version !== PROTOCOL_VERSION)
    throw new ProtocolError(`helper speaks protocol ${version}, expected ${PROTOCOL_VERSION}`);
  const type = view.getUint16(6, true);
  const len = view.getUint32(8, true);
  if (len !== buf.length - HEADER_SIZE)
    throw new ProtocolError(`frame length ${len} does not match ${buf.length - HEADER_SIZE}`);
  const need = (n: number) => {
    if (len < n) throw new ProtocolError(`message type ${type} needs ${n} payload bytes, has ${len}`);
  };
  switch (type) {
    case MsgType.SYNC:
      need(8);
      return { type: "sync", tag: view.getUint32(12, true), pid: view.getUint32(16, true) };
    case MsgType.PID:
      need(12);
      return { type: "pid", pid: view.getUint32(12, true), times: opTimes(view, 16, len - 4) };
    case MsgType.READY:
      need(8);
      return { type: "ready", times: opTimes(view, 12, len) };
    case MsgType.PTY:
      return { type: "pty" };
    case MsgType.ERROR: {
      need(16);
      const index = view.getUint32(12, true);
      const code = view.getUint16(16, true);
      const errno = view.getInt32(20, true);
      let off = 24;
      const str = (): string => {
        if (off + 4 > buf.length) throw new ProtocolError("truncated error message");
        const n = view.getUint32(off, true);
        off += 4;
        if (off + n > buf.length) throw new ProtocolError("truncated error message");
        const s = dec.decode(buf.subarray(off, off + n));
        off += n;
        return s;
      };
      const path = str();
      const message = str();
      return { type: "error", index, op: OP_NAMES.get(code) ?? `op ${code}`, errno, path, message };
    }
    default:
      throw new ProtocolError(`unexpected message type ${type} from the helper`);
  }
}
