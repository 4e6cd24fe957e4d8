// The annotation `org.leopard.rootfs.overlay` on config.json: the root filesystem is an overlay
// the runtime mounts itself, inside the container's user and mount namespaces, on root.path
// before pivot_root. Its value is the overlay's own option text, as a runc user would type it
// after `mount -t overlay overlay -o`:
//
//   "org.leopard.rootfs.overlay": "lowerdir=/l/top:/l/base,upperdir=/c/upper,workdir=/c/work"
//
// Why: an unprivileged user may mount overlayfs only in a user namespace it owns (Linux 5.11+),
// so a rootless engine cannot mount the overlay on the host; the container's own user namespace
// is the one place it can be made, and only the runtime is there. The rootless engine uses it
// instead of copying the image for each container (src/image/rootfs.ts); a rootful engine keeps
// its host-side overlay.
//
// Only those three keys, each once; every path absolute, without "," ":" "\\" or control
// characters (they would inject options or layers into the mount's text) and without "." or
// ".." components; each an existing directory and, rootless, owned by the caller (the runtime
// must not be made to expose, or write into, another user's files). The runtime adds `userxattr`
// when the mount is made in a user namespace (src/plan/mounts.ts): whiteouts are 0/0 character
// devices and opaque directories carry user.overlay.opaque, as the rootless engine unpacks them.
//
// With the annotation `org.leopard.rootfs.mountns` besides (a mount namespace file, e.g.
// "/proc/1234/ns/mnt"), the overlay is mounted already, by fuse-overlayfs in that mount namespace
// (src/image/fuse-overlayfs.ts): the container's new mount namespace is made as a copy of that
// one (setns, then unshare, after the user namespace is joined), where root.path is the mount,
// and the runtime mounts nothing on it. The kernel decides whether the caller may join it
// (CAP_SYS_ADMIN over the user namespace that owns it); the overlay's directories are checked
// as above all the same, and are what the runtime reads of the root on the host.
import { lstatSync, statSync } from "../sys/fs-sync.ts";
import { LeopardError } from "../util/errors.ts";

export const ROOTFS_OVERLAY = "org.leopard.rootfs.overlay";
export const ROOTFS_MOUNTNS = "org.leopard.rootfs.mountns";

export interface RootfsOverlay {
  /** Lower directories, topmost first (overlay's order). */
  lower: readonly string[];
  upper: string;
  work: string;
  /** Mounted already in this mount namespace (the annotation org.leopard.rootfs.mountns). */
  mountedIn?: string | undefined;
}

const bad = (why: string): LeopardError =>
  new LeopardError("invalid-spec", `annotation "${ROOTFS_OVERLAY}": ${why}`);

function checkPath(key: string, p: string): void {
  if (!p.startsWith("/")) throw bad(`${key} "${p}" is not an absolute path`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[,:\\\u0000-\u001f\u007f]/.test(p))
    throw bad(`${key} "${p}" contains a character overlay reads as a separator`);
  if (p.split("/").some((c) => c === "." || c === ".."))
    throw bad(`${key} "${p}" has a "." or ".." component`);
}

/** The annotation's value → its directories, or a one-line error naming the bad part. Pure. */
export function parseRootfsOverlay(value: string): RootfsOverlay {
  const seen = new Map<string, string>();
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    const key = eq < 0 ? part : part.slice(0, eq);
    if (key !== "lowerdir" && key !== "upperdir" && key !== "workdir")
      throw bad(`"${part}" is not lowerdir=, upperdir= or workdir=`);
    if (seen.has(key)) throw bad(`${key} is given twice`);
    seen.set(key, part.slice(eq + 1));
  }
  for (const key of ["lowerdir", "upperdir", "workdir"]) if (!seen.get(key)) throw bad(`${key} is missing`);
  const lower = (seen.get("lowerdir") as string).split(":");
  for (const l of lower) checkPath("lowerdir", l);
  const upper = seen.get("upperdir") as string;
  const work = seen.get("workdir") as string;
  checkPath("upperdir", upper);
  checkPath("workdir", work);
  return { lower, upper, work };
}

/** The annotation org.leopard.rootfs.mountns → the namespace file, or a one-line error. Pure. */
export function parseRootfsMountns(value: string, overlay: boolean): string {
  const bad = (why: string): LeopardError =>
    new LeopardError("invalid-spec", `annotation "${ROOTFS_MOUNTNS}": ${why}`);
  if (!overlay) throw bad(`needs the annotation "${ROOTFS_OVERLAY}" (the directories mounted there)`);
  if (!value.startsWith("/")) throw bad(`"${value}" is not an absolute path`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(value)) throw bad(`"${value}" contains a control character`);
  return value;
}

/**
 * Each directory exists and, when uid is given (rootless), is the caller's; root.path's /proc
 * and /sys are not symlinks in the topmost layer that has them (what checkRootfs checks of a
 * plain root: the merged tree does not exist on the host until the runtime mounts it).
 */
export function checkRootfsOverlay(o: RootfsOverlay, uid: number | undefined): void {
  const dirs: [string, string][] = [
    ["upperdir", o.upper],
    ["workdir", o.work],
    ...o.lower.map((l): [string, string] => ["lowerdir", l]),
  ];
  for (const [key, d] of dirs) {
    let st: ReturnType<typeof statSync> | undefined;
    try {
      st = statSync(d, { throwIfNoEntry: false });
    } catch {
      // Unreachable (EACCES on a parent, ELOOP): named below as not a directory.
    }
    if (st === undefined || !st.isDirectory())
      throw bad(`${key} "${d}" does not exist or is not a directory`);
    if (uid !== undefined && st.uid !== uid)
      throw bad(`${key} "${d}" is not owned by the caller (uid ${uid})`);
  }
  const layers = [o.upper, ...o.lower];
  for (const name of ["proc", "sys"]) {
    for (const l of layers) {
      const st = lstatSync(`${l}/${name}`, { throwIfNoEntry: false });
      if (st === undefined) continue;
      if (st.isSymbolicLink())
        throw new LeopardError("invalid-spec", `mount destination "/${name}" is a symlink in the rootfs`);
      break; // the topmost entry decides (a directory, or a whiteout: absent)
    }
  }
}
