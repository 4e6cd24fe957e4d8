// `-w DIR` as docker: the working directory is made in the container's root filesystem at create
// when it is missing (root's, mode 0755), each component resolved inside the root (openat2
// RESOLVE_IN_ROOT), so a symlink in the image never makes it land outside.
import { mkdirAt, O_DIRECTORY, O_PATH } from "../sys/at.ts";
import { errno, SysError } from "../sys/libc.ts";
import { openInRoot } from "../sys/openat2.ts";
import { closeFd } from "../sys/seqpacket.ts";

const ENOENT = 2;
const EEXIST = 17;
const errnoOf = (e: unknown): number | undefined => (e instanceof SysError ? e.errno : undefined);

/**
 * Makes `path` (absolute, inside the container) and its missing parents beneath `root`. A
 * component that is a dangling symlink is an error (docker would make its target; never outside).
 */
export function mkdirInRoot(root: string, path: string): void {
  // errno's binding first: binding it after a failed call (dlopen) could reset errno.
  errno();
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  let parent = "/";
  for (const name of parts) {
    const here = `${parent === "/" ? "" : parent}/${name}`;
    let fd: number | undefined;
    try {
      fd = openInRoot(root, here, O_PATH | O_DIRECTORY);
    } catch (e) {
      if (errnoOf(e) !== ENOENT) throw e;
    }
    if (fd !== undefined) closeFd(fd);
    else {
      const dir = openInRoot(root, parent, O_PATH | O_DIRECTORY);
      try {
        mkdirAt(dir, name, 0o755);
      } catch (e) {
        if (errnoOf(e) !== EEXIST) throw e; // made meanwhile
      } finally {
        closeFd(dir);
      }
    }
    parent = here;
  }
}
