// HOME for a process whose environment has none, found as runc finds it: the process user's
// entry in the container's /etc/passwd (parsed by src/plan/home.ts). Read only when needed, as a
// regular file of bounded size opened inside the root (openat2 RESOLVE_IN_ROOT): an image's
// /etc/passwd may be a symlink out, a FIFO or a device.

import type { Spec, SpecProcess } from "../config/types.ts";
import { passwdHome } from "../plan/home.ts";
import { closeSync, fstatSync, openSync, readSync } from "../sys/fs-sync.ts";
import { openInRoot } from "../sys/openat2.ts";

const O_RDONLY = 0;
const O_NONBLOCK = 0o4000;
const O_NOFOLLOW = 0o400000;
const MAX_PASSWD = 4 * 1024 * 1024;

/** Whether the process's environment already names a HOME (an empty one counts as none, as in runc). */
function hasHome(p: SpecProcess): boolean {
  return p.env.some((e) => e.startsWith("HOME=") && e.length > 5);
}

/** The text of an open regular file up to MAX_PASSWD bytes, or undefined; closes fd. */
function readRegular(fd: number): string | undefined {
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > MAX_PASSWD) return undefined;
    const buf = Buffer.alloc(st.size);
    let at = 0;
    while (at < buf.length) {
      const n = readSync(fd, buf, at, buf.length - at, at);
      if (n === 0) break;
      at += n;
    }
    return buf.subarray(0, at).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/** path beneath root (RESOLVE_IN_ROOT), or undefined when it is missing or not a regular file. */
function readInRoot(root: string, path: string): string | undefined {
  try {
    return readRegular(openInRoot(root, path, O_RDONLY | O_NONBLOCK));
  } catch {
    return undefined;
  }
}

/** A host file named by the config (a bind source), or undefined. */
function readHostFile(path: string): string | undefined {
  try {
    return readRegular(openSync(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW));
  } catch {
    return undefined;
  }
}

const isBind = (m: Spec["mounts"][number]): boolean =>
  m.type === "bind" || m.options.includes("bind") || m.options.includes("rbind");

/**
 * For create: the home of the process's user, or undefined when its environment has a HOME.
 * A bind mount of /etc/passwd or /etc in the config is read where it comes from, as the
 * container will see it; otherwise the root filesystem's file.
 */
export function containerHome(spec: Spec, rootfs: string): string | undefined {
  if (hasHome(spec.process)) return undefined;
  let text: string | undefined;
  let found = false;
  for (const m of [...spec.mounts].reverse()) {
    const dest = m.destination.replace(/\/+$/, "");
    if (!isBind(m) || m.source === undefined || (dest !== "/etc/passwd" && dest !== "/etc")) continue;
    text = dest === "/etc" ? readInRoot(m.source, "/passwd") : readHostFile(m.source);
    found = true;
    break;
  }
  if (!found) text = readInRoot(rootfs, "/etc/passwd");
  return passwdHome(text, spec.process.user.uid);
}

/** For exec: the home of the process's user in the running container (its root is /proc/PID/root). */
export function execHome(process: SpecProcess, pid: number): string | undefined {
  if (hasHome(process)) return undefined;
  return passwdHome(readInRoot(`/proc/${pid}/root`, "/etc/passwd"), process.user.uid);
}
