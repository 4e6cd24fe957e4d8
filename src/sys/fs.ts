// File helpers: atomic writes, FIFOs.
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "./fs-sync.ts";
import { check, cstr, libc } from "./libc.ts";

/**
 * Writes data to path through a temporary file in the same directory and rename(2): a reader sees
 * the old content or the new, never a part. `durable` (the default) also fsyncs the data before the
 * rename, for records that must outlive a crash of the machine; a runtime's state (state.json, the
 * pid file, hooks.json) describes processes that a crash ends anyway, and runc does not fsync it
 * either: an fsync cost ~2-10 ms per write where /run is not a tmpfs (measured on the CI machine).
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644, durable = true): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, "w", mode);
  try {
    writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
    if (durable) fsyncSync(fd);
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
