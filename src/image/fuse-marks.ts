// What fuse-overlayfs writes into an upper directory besides content, as the kernel's overlay
// marks differ: an opaque directory (one made again after the lower one was removed) carries
// the xattr user.fuseoverlayfs.opaque "y" (trusted.overlay.opaque is refused to it in a user
// namespace) and holds a regular file ".wh..wh..opq" and a whiteout (0/0 character device) named
// ".wh..opq"; a removed file is a 0/0 character device, as overlay's. Seen with Debian's
// fuse-overlayfs 1.10 (test/rootless/fuse-overlayfs.test.ts checks it). The readers of upper
// directories on the host (src/image/layered.ts, flatten.ts, dir-layer.ts) take the opaque marks
// as overlay's and leave the two bookkeeping entries out.
import type { Stats } from "node:fs";

export const FUSE_OPAQUE_XATTR = "user.fuseoverlayfs.opaque";
/** The regular file fuse-overlayfs puts in an opaque directory (also the OCI layer's marker name). */
export const OPAQUE_FILE = ".wh..wh..opq";
const OPAQUE_WHITEOUT = ".wh..opq";

/** Whether the entry `name` with `st` is fuse-overlayfs's bookkeeping for an opaque directory. */
export function isFuseMark(name: string, st: Stats): boolean {
  if (name === OPAQUE_FILE) return st.isFile();
  return name === OPAQUE_WHITEOUT && st.isCharacterDevice() && st.rdev === 0;
}
