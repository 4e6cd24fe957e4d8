// An exclusive flock between leopard processes (and between concurrent calls in one process:
// each call opens its own file description). Waiting polls with LOCK_NB and sleeps, so a caller
// in this process holding the lock across an await is never deadlocked by a blocking flock.
import { closeSync, openSync } from "node:fs";
import { libc } from "../sys/libc.ts";

const LOCK_EX = 2;
const LOCK_NB = 4;

export async function withLock<T>(path: string, f: () => Promise<T> | T): Promise<T> {
  const fd = openSync(path, "a", 0o600);
  try {
    let wait = 2;
    while (libc().flock(fd, LOCK_EX | LOCK_NB) !== 0) {
      await Bun.sleep(wait);
      wait = Math.min(wait * 2, 50);
    }
    return await f();
  } finally {
    closeSync(fd); // closing the description drops the lock
  }
}
