// `-w DIR` as docker: the working directory is made in the container's root filesystem at create
// when it is missing (root's, mode 0755), each component resolved inside the root (openat2
// RESOLVE_IN_ROOT), so a symlink in the image never makes it land outside. A component that is a
// symlink to a missing target gets its target made, as docker does, inside the root too.
import { mkdirAt, O_DIRECTORY, O_PATH, readlinkAt } from "../sys/at.ts";
import { errno, SysError } from "../sys/libc.ts";
import { openInRoot } from "../sys/openat2.ts";
import { closeFd } from "../sys/seqpacket.ts";

const ENOENT = 2;
const EEXIST = 17;
const EINVAL = 22;
const ELOOP = 40;
/** Links followed while making one working directory, as the kernel's limit (MAXSYMLINKS). */
const MAX_LINKS = 40;
const errnoOf = (e: unknown): number | undefined => (e instanceof SysError ? e.errno : undefined);

/** The text of the symlink `name` in dir, or undefined when it is not a symlink (or is gone). */
function linkText(dir: number, name: string): string | undefined {
  try {
    return new TextDecoder().decode(readlinkAt(dir, name));
  } catch (e) {
    if (errnoOf(e) === EINVAL || errnoOf(e) === ENOENT) return undefined;
    throw e;
  }
}

/**
 * Makes `path` (absolute, inside the container) and its missing parents beneath `root`. A
 * component that is a dangling symlink has its target made (resolved inside the root, so never
 * outside it), as docker does.
 */
export function mkdirInRoot(root: string, path: string, links = 0): void {
  if (links > MAX_LINKS) throw new SysError("mkdir", ELOOP, path);
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
      let link: string | undefined;
      try {
        link = linkText(dir, name);
        if (link === undefined) mkdirAt(dir, name, 0o755);
      } catch (e) {
        if (errnoOf(e) !== EEXIST) throw e; // made meanwhile
      } finally {
        closeFd(dir);
      }
      // A dangling link: its target made (a relative one from the link's directory).
      if (link !== undefined)
        mkdirInRoot(root, link.startsWith("/") ? link : `${parent === "/" ? "" : parent}/${link}`, links + 1);
    }
    parent = here;
  }
}
