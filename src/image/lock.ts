// Advisory file locks (flock) between leopard processes. Waiting polls with LOCK_NB so a
// process blocked on one lock keeps its other downloads moving.
import { closeSync, openSync } from "node:fs";
import { libc } from "../sys/libc.ts";
import { LeopardError } from "../util/errors.ts";

const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;

export interface FileLock {
  release(): void;
  [Symbol.dispose](): void;
}

/**
 * Takes a lock on path (created if missing), exclusive unless shared is set, waiting up to
 * timeoutMs; with timeoutMs 0 it returns undefined at once when the lock is busy.
 */
export async function lockFile(
  path: string,
  opts: { shared?: boolean; timeoutMs?: number } = {},
): Promise<FileLock> {
  const l = await tryLockFile(path, opts);
  if (l === undefined)
    throw new LeopardError("bad-state", `lock "${path}" is held by another leopard process`);
  return l;
}

export async function tryLockFile(
  path: string,
  opts: { shared?: boolean; timeoutMs?: number } = {},
): Promise<FileLock | undefined> {
  const timeoutMs = opts.timeoutMs ?? 10 * 60_000;
  const mode = opts.shared ? LOCK_SH : LOCK_EX;
  const fd = openSync(path, "a", 0o600);
  const deadline = Date.now() + timeoutMs;
  let wait = 5;
  for (;;) {
    // The fd is ours and valid, so a failure means busy (EWOULDBLOCK) or interrupted; errno
    // itself is not read back, as the runtime may have clobbered it since the call.
    if (libc().flock(fd, mode | LOCK_NB) === 0) break;
    if (Date.now() >= deadline) {
      closeSync(fd);
      return undefined;
    }
    await Bun.sleep(wait);
    wait = Math.min(wait * 2, 100);
  }
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    closeSync(fd); // closing the last fd drops the flock
  };
  return { release, [Symbol.dispose]: release };
}
