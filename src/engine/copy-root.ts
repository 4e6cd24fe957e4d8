// The root a `leopard cp` resolves container paths beneath. A running container is copied as its
// process sees it (volumes, bind mounts, tmpfs mounted inside its mount namespace, as `docker cp`
// does): through /proc/PID/root, held by an O_PATH fd for the whole copy and accepted only when it
// is the container's own root filesystem (the same device and inode as its rootfs directory), so
// a pid that was reused by a host process can never make the copy land on the host. Otherwise
// (stopped, or not provably the container) the root filesystem directory itself.
//
// A rootless container's root may be an overlay mounted only in its own namespaces (given as its
// layers, upper first): running, /proc/PID/root is accepted when it is that overlay (the root
// of an overlay reports its upper directory's inode, and the process's mount table names the
// upper directory); stopped, what is copied out is first put together from the layers in a
// scratch directory beside them (image/flatten.ts, as overlay reads them), and copying in is
// refused: there is no merged tree to write into until the container runs. Under fuse-overlayfs
// (src/image/fuse-overlayfs.ts) the mount admits only its own user namespace's processes (FUSE's
// rule), not the engine's: copying out reads the layers even while the container runs (its own
// mounts, volumes aside, are not seen), copying in is refused.
import {
  closeSync,
  copyFileSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { applySnapshot } from "../image/flatten.ts";
import { lookupLayered } from "../image/layered.ts";
import { LeopardError } from "../util/errors.ts";
import type { RootView } from "./exe.ts";

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

export interface CopyWhat {
  /** The path inside the container. */
  path: string;
  /** Copying out of the container (else into it). */
  out: boolean;
  followLink: boolean;
}

/**
 * As withCopyRoot, for any root view: f gets the root and the container path to use beneath it
 * (the path as given, or, from a stopped overlay's scratch copy, with its symlinks resolved).
 */
export async function withViewRoot<T>(
  view: RootView,
  pid: number,
  what: CopyWhat,
  f: (root: string, path: string) => Promise<T>,
): Promise<T> {
  if (typeof view === "string") return await withCopyRoot(view, pid, (root) => f(root, what.path));
  const upper = view.layers[0] as string;
  // fuse-overlayfs: its mount admits only processes of its user namespace, not this one, so a
  // running container is read through its layers like a stopped one, and not written into.
  const fd = pid > 0 && view.fuse !== true ? overlayViewOf(upper, pid) : undefined;
  if (fd !== undefined) {
    try {
      return await f(`/proc/self/fd/${fd}`, what.path);
    } finally {
      closeSync(fd);
    }
  }
  if (!what.out && view.fuse === true)
    throw new LeopardError(
      "unsupported",
      "the container's root filesystem is fuse-overlayfs (rootless), which only the container's user namespace may enter: copying into it is not supported",
    );
  if (!what.out)
    throw new LeopardError(
      "bad-state",
      "the container's root filesystem is an overlay mounted only while it runs (rootless): start it to copy into it",
    );
  const e = lookupLayered(view.layers, what.path, !what.followLink);
  if (e === undefined) throw new LeopardError("not-found", `no such file or directory "${what.path}"`);
  const stage = mkdtempSync(`${upper}/../cp-`);
  try {
    const dest = `${stage}${e.path === "/" ? "" : e.path}`;
    mkdirSync(e.path === "/" ? stage : dest.slice(0, dest.lastIndexOf("/")), { recursive: true });
    if (e.st.isDirectory()) {
      if (e.path !== "/") mkdirSync(dest);
      for (const d of [...e.dirs].reverse()) applySnapshot(d, dest, { rootless: true, overlayXattr: "user" });
    } else if (e.st.isSymbolicLink()) symlinkSync(readlinkSync(e.host), dest);
    else copyFileSync(e.host, dest);
    const suffix = /\/\.?$/.exec(what.path)?.[0] ?? "";
    return await f(stage, e.path === "/" ? `/${suffix.replace(/^\//, "")}` : `${e.path}${suffix}`);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** /proc/PID/root as an O_PATH fd when it is the overlay on `upper`, else undefined. */
function overlayViewOf(upper: string, pid: number): number | undefined {
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/root`, O_PATH | O_DIRECTORY | O_CLOEXEC);
  } catch {
    return undefined; // exited: the stopped container's layers are what there is
  }
  try {
    const view = fstatSync(fd);
    const up = lstatSync(upper);
    const mounts = readFileSync(`/proc/${pid}/mountinfo`, "utf8");
    const rootLine = mounts.split("\n").find((l) => l.split(" ")[4] === "/");
    if (view.ino === up.ino && view.dev !== up.dev && rootLine?.includes(`upperdir=${upper},`) === true)
      return fd;
  } catch {
    // the process is gone, or the layers: not provably the container
  }
  closeSync(fd);
  return undefined;
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
