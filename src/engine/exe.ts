// Files inside a container's root filesystem, opened with openat2(RESOLVE_IN_ROOT) so that ".."
// and absolute symlinks resolve inside the root, never to the host: the command looked up before
// anything runs (so `leopard run` fails as docker does: 127 when it does not exist, 126 when it
// is not executable — the helper itself resolves and executes inside the container), and the
// image's /etc/passwd and /etc/group read for `-u NAME`.
//
// A rootless container's root may be an overlay mounted only in its own namespaces: then the
// root is given as its layers ({ layers }, upper first) and looked up as overlay would
// (src/image/layered.ts).
import { closeSync, fstatSync, readFileSync, type Stats } from "node:fs";
import { lookupLayered } from "../image/layered.ts";
import { O_PATH, openInRoot } from "../sys/openat2.ts";

/** A container's root filesystem on the host: a directory, or overlay-form layers (upper first). */
export type RootView =
  | string
  | {
      layers: readonly string[];
      /** Mounted by fuse-overlayfs, which admits only its own user namespace (src/image/fuse-overlayfs.ts). */
      fuse?: boolean | undefined;
    };

export type Lookup = { found: true; path: string } | { found: false; code: 126 | 127; why: string };

/** The text of a file inside the root ("" when it is absent or unreadable). */
export function readInRoot(root: RootView, path: string): string {
  if (typeof root !== "string") {
    const e = lookupLayered(root.layers, path);
    if (e === undefined || !e.st.isFile()) return "";
    try {
      return readFileSync(e.host, "utf8");
    } catch {
      // Unreadable: "", as documented.
      return "";
    }
  }
  let fd: number;
  try {
    fd = openInRoot(root, path, 0 /* O_RDONLY */);
  } catch {
    // Absent, or not inside the root: "", as documented.
    return "";
  }
  try {
    return readFileSync(fd, "utf8");
  } catch {
    // Unreadable (a directory, a FIFO): "", as documented.
    return "";
  } finally {
    closeSync(fd);
  }
}

function statInRoot(root: RootView, path: string): Stats | undefined {
  if (typeof root !== "string") return lookupLayered(root.layers, path)?.st;
  let fd: number;
  try {
    fd = openInRoot(root, path, O_PATH);
  } catch {
    // Absent, or not inside the root: no such file.
    return undefined;
  }
  try {
    return fstatSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function findExecutable(root: RootView, argv0: string, pathEnv: string, cwd: string): Lookup {
  const candidates = argv0.includes("/")
    ? [argv0.startsWith("/") ? argv0 : `${cwd}/${argv0}`]
    : pathEnv
        .split(":")
        .filter((d) => d !== "")
        .map((d) => `${d}/${argv0}`);
  let notExecutable: string | undefined;
  for (const c of candidates) {
    const st = statInRoot(root, c);
    if (!st) continue;
    if (st.isFile() && (st.mode & 0o111) !== 0) return { found: true, path: c };
    notExecutable ??= st.isDirectory() ? `"${c}" is a directory` : `"${c}" is not executable`;
  }
  if (notExecutable !== undefined)
    return { found: false, code: 126, why: `permission denied: ${notExecutable}` };
  return {
    found: false,
    code: 127,
    why: argv0.includes("/")
      ? `"${argv0}": no such file or directory`
      : `"${argv0}": executable file not found in $PATH`,
  };
}
