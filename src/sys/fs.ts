// File helpers: atomic writes, FIFOs.
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { check, cstr, libc } from "./libc.ts";

/** Writes data to path through a temporary file in the same directory and rename(2). */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, "w", mode);
  try {
    writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

export function mkfifo(path: string, mode: number): void {
  check(libc().mkfifo(cstr(path), mode), "mkfifo", path);
}
