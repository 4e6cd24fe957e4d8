// The raw bytes of a tar stream's meta entries (pax 'x'/'g', GNU 'L'/'K'), in order. node-tar
// hands its "meta" event a UTF-8-decoded string, which mangles binary xattr values such as
// security.capability; this tracker walks the same stream's headers alongside the parser and
// keeps each meta body as bytes, so the k-th "meta" event gets the k-th body here.
// It also clears, in the caller's own bytes before the parser reads them, a link name left on an
// entry that is not a link: containers/storage (podman, buildah) writes overlay whiteouts, which
// share one inode, with the name of the first as a link name on a regular file; Go's reader and
// GNU tar ignore it, node-tar refuses the whole layer ("linkpath forbidden").

const META_TYPES = new Set(["x", "X", "g", "L", "K", "N"]);
/** node-tar emits "meta" only for bodies in (0, maxMetaEntrySize]. */
export const MAX_META = 1 << 20;

export interface MetaBody {
  type: string;
  body: Uint8Array;
}

function parseSize(h: Uint8Array): number {
  const field = h.subarray(124, 136);
  if (((field[0] ?? 0) & 0x80) !== 0) {
    // base-256 (GNU): big-endian, the top bit of the first byte is the marker.
    let n = (field[0] ?? 0) & 0x7f;
    for (let i = 1; i < field.length; i++) n = n * 256 + (field[i] ?? 0);
    return n;
  }
  const s = new TextDecoder()
    .decode(field)
    .replace(/[\0 ].*$/s, "")
    .trim();
  return s === "" ? 0 : Number.parseInt(s, 8);
}

/** Reads pax records "len key=value\n" from raw bytes; values stay bytes. */
export function paxRecords(body: Uint8Array): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const dec = new TextDecoder();
  let pos = 0;
  while (pos < body.length) {
    const sp = body.indexOf(0x20, pos);
    if (sp < 0) break;
    const len = Number(dec.decode(body.subarray(pos, sp)));
    if (!Number.isInteger(len) || len <= 0 || pos + len > body.length) break;
    const rec = body.subarray(sp + 1, pos + len - 1); // without the trailing newline
    const eq = rec.indexOf(0x3d);
    if (eq > 0) out.set(dec.decode(rec.subarray(0, eq)), rec.slice(eq + 1));
    pos += len;
  }
  return out;
}

/** Entry types pax and GNU long names apply to (node-tar's normalFsTypes). */
const NORMAL_TYPES = new Set(["0", "", "1", "2", "3", "4", "5", "6", "7", "D"]);

function cstring(b: Uint8Array): string {
  const nul = b.indexOf(0);
  return new TextDecoder().decode(nul < 0 ? b : b.subarray(0, nul));
}

/** Types whose header may carry a link name: links, and the pax headers node-tar lets have one. */
const LINK_TYPES = new Set(["1", "2", "x", "g"]);

/**
 * Clears the link name field (and fixes the checksum) of a header whose type is not a link;
 * true when it changed h. A header whose checksum is already wrong is left for the parser to refuse.
 */
export function clearStrayLinkname(h: Uint8Array, type: string): boolean {
  if (LINK_TYPES.has(type) || h[157] === 0) return false;
  if (headerChecksum(h) !== parseOctal(h.subarray(148, 156))) return false;
  h.fill(0, 157, 257);
  const sum = headerChecksum(h).toString(8).padStart(6, "0");
  h.set(new TextEncoder().encode(`${sum}\0 `), 148);
  return true;
}

/** The sum of a header's bytes with its checksum field counted as spaces. */
function headerChecksum(h: Uint8Array): number {
  let sum = 8 * 0x20;
  for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) sum += h[i] ?? 0;
  return sum;
}

function parseOctal(field: Uint8Array): number {
  const s = new TextDecoder()
    .decode(field)
    .replace(/[\0 ].*$/s, "")
    .trim();
  return s === "" ? -1 : Number.parseInt(s, 8);
}

/**
 * Follows entry boundaries exactly as node-tar does (pax and global sizes for file-system
 * entries, directories without a body, every other type consuming its size), so the two never
 * disagree about where the next header is.
 */
export class PaxTracker {
  readonly #queue: MetaBody[] = [];
  #pending: Uint8Array[] = [];
  #pendingLen = 0;
  /** Bytes still to skip (entry data and padding). */
  #skip = 0;
  /** A meta body being captured: its type, size and the padding after it. */
  #capture: { type: string; size: number; pad: number } | undefined;
  /** Pending extended fields for the next entry, and global ones. */
  #ex: { size?: number; path?: string } | undefined;
  #gex: { size?: number } = {};
  #broken = false;

  /** False once the stream could not be followed; callers then fall back. */
  get ok(): boolean {
    return !this.#broken;
  }

  next(): MetaBody | undefined {
    return this.#queue.shift();
  }

  /** The next n pending bytes as views of the fed chunks (writable: the caller's memory). */
  #takeViews(n: number): Uint8Array[] {
    const views: Uint8Array[] = [];
    let left = n;
    while (left > 0) {
      const head = this.#pending[0] as Uint8Array;
      if (head.length <= left) {
        views.push(head);
        left -= head.length;
        this.#pending.shift();
      } else {
        views.push(head.subarray(0, left));
        this.#pending[0] = head.subarray(left);
        left = 0;
      }
    }
    this.#pendingLen -= n;
    return views;
  }

  #take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      const head = this.#pending[0] as Uint8Array;
      const k = Math.min(n - o, head.length);
      out.set(head.subarray(0, k), o);
      o += k;
      if (k === head.length) this.#pending.shift();
      else this.#pending[0] = head.subarray(k);
    }
    this.#pendingLen -= n;
    return out;
  }

  /** Discards n pending bytes without copying them (file data). */
  #drop(n: number): void {
    let left = n;
    while (left > 0) {
      const head = this.#pending[0] as Uint8Array;
      if (head.length <= left) {
        left -= head.length;
        this.#pending.shift();
      } else {
        this.#pending[0] = head.subarray(left);
        left = 0;
      }
    }
    this.#pendingLen -= n;
  }

  #meta(type: string, body: Uint8Array): void {
    if (type === "x" || type === "X" || type === "g") {
      const r = paxRecords(body);
      const fields: { size?: number; path?: string } = {};
      const size = r.get("size");
      if (size !== undefined) fields.size = Number(new TextDecoder().decode(size));
      const path = r.get("path");
      if (path !== undefined) fields.path = cstring(path);
      if (type === "g") {
        if (fields.size !== undefined) this.#gex = { size: fields.size };
      } else {
        this.#ex = { ...this.#ex, ...fields };
      }
    } else if (type === "L" || type === "N") {
      this.#ex = { ...this.#ex, path: cstring(body) };
    }
  }

  feed(chunk: Uint8Array): void {
    if (this.#broken) return;
    if (chunk.length > 0) {
      this.#pending.push(chunk);
      this.#pendingLen += chunk.length;
    }
    for (;;) {
      if (this.#skip > 0) {
        const k = Math.min(this.#skip, this.#pendingLen);
        this.#drop(k);
        this.#skip -= k;
        if (this.#skip > 0) return;
      }
      if (this.#capture !== undefined) {
        const cap = this.#capture;
        if (this.#pendingLen < cap.size) return;
        const body = this.#take(cap.size);
        this.#capture = undefined;
        this.#skip = cap.pad;
        this.#meta(cap.type, body);
        this.#queue.push({ type: cap.type, body });
        continue;
      }
      if (this.#pendingLen < 512) return;
      const views = this.#takeViews(512);
      const h = new Uint8Array(512);
      let at = 0;
      for (const v of views) {
        h.set(v, at);
        at += v.length;
      }
      if (h.every((b) => b === 0)) continue; // end-of-archive blocks
      const t = cstring(h.subarray(156, 157));
      if (clearStrayLinkname(h, t)) {
        at = 0;
        for (const v of views) {
          v.set(h.subarray(at, at + v.length));
          at += v.length;
        }
      }
      const headerSize = parseSize(h);
      if (!Number.isSafeInteger(headerSize) || headerSize < 0) {
        this.#broken = true;
        return;
      }
      if (META_TYPES.has(t)) {
        const pad = (512 - (headerSize % 512)) % 512;
        if (headerSize === 0) continue;
        if (headerSize > MAX_META) this.#skip = headerSize + pad;
        else this.#capture = { type: t, size: headerSize, pad };
        continue;
      }
      const normal = NORMAL_TYPES.has(t);
      let size = normal ? (this.#ex?.size ?? this.#gex.size ?? headerSize) : headerSize;
      const path = normal ? (this.#ex?.path ?? cstring(h.subarray(0, 100))) : cstring(h.subarray(0, 100));
      const type = t || "0";
      if (type === "5" || (type === "0" && path.endsWith("/"))) size = 0;
      if (!Number.isSafeInteger(size) || size < 0) {
        this.#broken = true;
        return;
      }
      this.#ex = undefined;
      this.#skip = size + ((512 - (size % 512)) % 512);
    }
  }
}
