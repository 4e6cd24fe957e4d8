// The decisions of `leopard cp`, as pure functions (src/engine/copy.ts does the copying): which
// side is the container's, what SRC names (docker's "/." for a directory's contents, whether its
// last component is followed), where the copy lands given what DEST is (docker cp's table), and
// the owner and mode a copied file gets.
import { posix } from "../util/path.ts";

/** One cp argument: CONTAINER:PATH, or a host path (one with a ":" must start with "/" or "."). */
export function splitArg(arg: string): { ref?: string; path: string } {
  const i = arg.indexOf(":");
  if (i > 0 && !arg.startsWith("/") && !arg.startsWith("."))
    return { ref: arg.slice(0, i), path: arg.slice(i + 1) || "/" };
  return { path: arg };
}

export interface SourceSpec {
  /** The directory SRC's last component is in, and that component ("" for the root itself). */
  parent: string;
  base: string;
  /** SRC ends with "/.": the directory's contents are copied, not the directory. */
  contents: boolean;
  /** The last component is followed when it is a link: -L, or SRC ends with "/" or "/.", or is "/". */
  follow: boolean;
}

/** What SRC names; followLink is -L. */
export function sourceSpec(path: string, followLink: boolean): SourceSpec {
  const contents = path === "." || path.endsWith("/.");
  const trailing = path.endsWith("/") || contents;
  const clean = posix.normalize(path === "" ? "." : path);
  const stripped = clean.length > 1 ? clean.replace(/\/+$/, "") : clean;
  const base = stripped === "/" ? "" : posix.basename(stripped);
  const parent = stripped === "/" ? "/" : posix.dirname(stripped);
  return {
    parent,
    base,
    contents,
    follow: followLink || trailing || base === "" || base === "." || base === "..",
  };
}

export type DestKind = "dir" | "file" | "none";

export type Placement =
  /** Into the existing directory DEST under this name. */
  | { kind: "into"; name: string }
  /** SRC's contents into the existing directory DEST. */
  | { kind: "contents" }
  /** At DEST itself: this name in DEST's parent directory (a file there is replaced). */
  | { kind: "as"; name: string }
  | { kind: "error"; message: string };

/**
 * Where the copy goes, by docker cp's rules: a file into an existing directory keeps its name,
 * replaces an existing file, or becomes DEST (whose directory must exist; DEST ending in "/"
 * must be an existing directory); a directory goes into an existing directory (its contents, for
 * SRC "/."), becomes DEST when DEST does not exist, and never replaces a file.
 */
export function placement(
  src: { isDir: boolean; spec: SourceSpec; name: string },
  destPath: string,
  dest: DestKind,
): Placement {
  const trailing = destPath.endsWith("/") || destPath === "." || destPath.endsWith("/.");
  const destName = posix.basename(posix.normalize(destPath).replace(/\/+$/, ""));
  if (src.spec.contents && !src.isDir)
    return { kind: "error", message: `"${src.name}" is not a directory, so it has no contents to copy` };
  if (dest === "dir")
    return src.spec.contents ? { kind: "contents" } : { kind: "into", name: src.spec.base || "root" };
  if (dest === "file") {
    if (src.isDir)
      return { kind: "error", message: `cannot copy directory "${src.name}" over file "${destPath}"` };
    if (trailing) return { kind: "error", message: `"${destPath}" is not a directory` };
    return { kind: "as", name: destName };
  }
  if (trailing && !src.isDir) return { kind: "error", message: `no such directory "${destPath}"` };
  if (destName === "" || destName === "." || destName === ".." || destName === "/")
    return { kind: "error", message: `no such directory "${destPath}"` };
  return { kind: "as", name: destName };
}

const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;
export const S_IFSOCK = 0o140000;

export function fileType(mode: number): number {
  return mode & S_IFMT;
}

/** What a file type is called in a message. */
export function typeName(mode: number): string {
  switch (fileType(mode)) {
    case S_IFCHR:
      return "a character device";
    case S_IFBLK:
      return "a block device";
    case S_IFIFO:
      return "a FIFO";
    case S_IFSOCK:
      return "a socket";
    case S_IFDIR:
      return "a directory";
    case S_IFLNK:
      return "a symbolic link";
    default:
      return "a regular file";
  }
}

export interface AttrPolicy {
  /** -a: owner, group and every mode bit as at the source; special files made. */
  archive: boolean;
  /** Without -a: who owns what is copied (the caller copying out, the container's root copying in). */
  owner: { uid: number; gid: number };
  /** Without -a: clear the setuid and setgid bits (copying out: the host gets no setuid programs). */
  dropSetid: boolean;
}

/** The owner and permission bits a copy gets, or why it is not made at all. */
export function attrsFor(
  st: { mode: number; uid: number; gid: number },
  p: AttrPolicy,
): { uid: number; gid: number; perm: number } | { skip: string } {
  const t = fileType(st.mode);
  if (t === S_IFSOCK) return { skip: "a socket cannot be copied" };
  if ((t === S_IFCHR || t === S_IFBLK || t === S_IFIFO) && !p.archive)
    return { skip: `${typeName(st.mode)} is copied only with -a` };
  if (p.archive) return { uid: st.uid, gid: st.gid, perm: st.mode & 0o7777 };
  return { ...p.owner, perm: st.mode & (p.dropSetid ? 0o1777 : 0o7777) };
}
