// The root a `leopard cp` resolves container paths beneath. A running container is copied as its
// process sees it (volumes, bind mounts, tmpfs mounted inside its mount namespace, as `docker cp`
// does): through /proc/PID/root, held by an O_PATH fd for the whole copy and accepted only when it
// is the container's own root filesystem (the same device and inode as its rootfs directory), so
// a pid that was reused by a host process can never make the copy land on the host. Otherwise
// (stopped, or not provably the container) the root filesystem directory itself.
import { closeSync, fstatSync, openSync, statSync } from "node:fs";

const O_PATH = 0o10000000;
const O_DIRECTORY = 0o200000;
const O_CLOEXEC = 0o2000000;

/** Runs f with the path to resolve beneath: /proc/self/fd/N of the pinned view, or rootfs. */
export async function withCopyRoot<T>(
  rootfs: string,
  pid: number,
  f: (root: string) => Promise<T>,
): Promise<T> {
  const fd = pid > 0 ? viewOf(rootfs, pid) : undefined;
  if (fd === undefined) return await f(rootfs);
  try {
    return await f(`/proc/self/fd/${fd}`);
  } finally {
    closeSync(fd);
  }
}

/** An O_PATH fd of /proc/PID/root when it is the container's root filesystem, else undefined. */
export function viewOf(rootfs: string, pid: number): number | undefined {
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/root`, O_PATH | O_DIRECTORY | O_CLOEXEC);
  } catch {
    return undefined; // exited: the stopped container's root filesystem is what there is
  }
  try {
    const view = fstatSync(fd);
    const want = statSync(rootfs);
    if (view.dev === want.dev && view.ino === want.ino) return fd;
  } catch {
    // the rootfs is gone, or the view: fall back below
  }
  closeSync(fd);
  return undefined;
}
