// A cpio archive in the "newc" format the kernel unpacks as an initramfs: for each entry a
// 110-byte ASCII header ("070701" and 13 eight-digit hex fields), the NUL-terminated name
// padded to 4 bytes, then the data padded to 4 bytes; "TRAILER!!!" ends it.

export interface CpioEntry {
  /** Without a leading slash: "init", "bin/busybox". */
  readonly name: string;
  /** Full st_mode: 0o100755 for an executable file, 0o040755 for a directory. */
  readonly mode: number;
  readonly data?: Uint8Array;
}

const enc = new TextEncoder();

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function header(ino: number, mode: number, size: number, nameSize: number): string {
  const f = (n: number) => n.toString(16).padStart(8, "0");
  // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
  return `070701${[ino, mode, 0, 0, mode & 0o040000 ? 2 : 1, 0, size, 0, 0, 0, 0, nameSize, 0].map(f).join("")}`;
}

export function cpio(entries: readonly CpioEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const push = (name: string, mode: number, data: Uint8Array, ino: number) => {
    const nameBytes = enc.encode(`${name}\0`);
    const head = enc.encode(header(ino, mode, data.length, nameBytes.length));
    parts.push(head, nameBytes, new Uint8Array(pad4(head.length + nameBytes.length)));
    parts.push(data, new Uint8Array(pad4(data.length)));
  };
  entries.forEach((e, i) => {
    push(e.name, e.mode, e.data ?? new Uint8Array(), i + 1);
  });
  push("TRAILER!!!", 0, new Uint8Array(), 0);
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
