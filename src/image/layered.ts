// Paths in the union of overlay-form layers, read on the host without mounting them: a rootless
// container's root is an overlay mounted only inside its own namespaces (src/image/rootfs.ts), so
// what the engine reads of it before or without running it (the command to check, /etc/passwd
// for -u NAME, an image directory to fill a volume from, the working directory to make) is found
// here, as overlayfs would find it: the topmost layer with the name wins, a 0/0 character device
// hides it, a directory marked opaque (user.overlay.opaque or trusted.overlay.opaque "y") hides
// the layers below it. Symlinks resolve inside the union ("/" and ".." stop at its root, as
// RESOLVE_IN_ROOT), so nothing here leads out of the layers.
import { lstatSync, mkdirSync, readlinkSync, type Stats } from "node:fs";
import { sys } from "../sys/libc.ts";
import { LeopardError } from "../util/errors.ts";
import { chmod } from "./ffi.ts";
import { FUSE_OPAQUE_XATTR } from "./fuse-marks.ts";

/** The kernel's MAXSYMLINKS. */
const MAX_LINKS = 40;

function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

/** trusted.* is invisible to an unprivileged caller (always ENODATA): only root asks for it. */
const NAMESPACES = process.geteuid?.() === 0 ? ["user", "trusted"] : ["user"];

/**
 * lgetxattr(2) through src/sys's one syscall binding: ffi.ts's own libc binding compiles a
 * trampoline per symbol (~5 ms for its six), paid by every direct `leopard run` that looks here.
 */
const SYS_LGETXATTR = process.arch === "arm64" ? 9 : 192;
const mark = new Uint8Array(2);

/** Overlay's opaque marks, and fuse-overlayfs's in an upper directory it wrote (src/image/fuse-marks.ts). */
const OPAQUE_XATTRS = [...NAMESPACES.map((ns) => `${ns}.overlay.opaque`), FUSE_OPAQUE_XATTR].map((x) =>
  Buffer.from(`${x}\0`),
);

function isOpaque(path: string): boolean {
  const p = Buffer.from(`${path}\0`);
  for (const x of OPAQUE_XATTRS) {
    // "y" is one byte; a longer value is ERANGE (-1), not a mark.
    const n = sys(SYS_LGETXATTR, p, x, mark, mark.length);
    if (n === 1n && mark[0] === 0x79) return true;
  }
  return false;
}

export interface LayeredEntry {
  /** The path inside the union, every symlink resolved ("/a/b"; "/" for the root). */
  path: string;
  /** The host path of the entry in the topmost layer that has it. */
  host: string;
  st: Stats;
  /** For a directory: its host directories that are merged, topmost first. */
  dirs: string[];
}

const split = (p: string): string[] => p.split("/").filter((c) => c !== "" && c !== ".");

/** One step down: the host directories merged at name beneath the merged dirs. */
function stepDown(dirs: readonly string[], name: string): string[] {
  const next: string[] = [];
  for (const d of dirs) {
    const p = `${d}/${name}`;
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (st === undefined) continue;
    if (!st.isDirectory()) break; // a whiteout, or a file hiding the directories below it
    next.push(p);
    if (isOpaque(p)) break;
  }
  return next;
}

/** The directory at canonical parts (no symlinks in it): the host directories merged there. */
function mergedDirs(layers: readonly string[], parts: readonly string[]): string[] {
  let dirs = [...layers];
  for (const name of parts) {
    dirs = stepDown(dirs, name);
    if (dirs.length === 0) return [];
  }
  return dirs;
}

/**
 * Finds path in the union of layers (topmost first). Symlinks are followed, the last one too
 * unless noFollow. undefined when it does not exist (or a loop, or a component not a directory).
 */
export function lookupLayered(
  layers: readonly string[],
  path: string,
  noFollow = false,
): LayeredEntry | undefined {
  let todo = split(path);
  let parts: string[] = [];
  let dirs = [...layers];
  let links = 0;
  const root = (): LayeredEntry | undefined => {
    const st = layers[0] === undefined ? undefined : lstatSync(layers[0], { throwIfNoEntry: false });
    return st && { path: "/", host: layers[0] as string, st, dirs: [...layers] };
  };
  let found: LayeredEntry | undefined = root();
  while (todo.length > 0) {
    const name = todo.shift() as string;
    if (name === "..") {
      parts.pop();
      dirs = mergedDirs(layers, parts);
      found = parts.length === 0 ? root() : entryAt(layers, parts);
      continue;
    }
    if (found === undefined || !found.st.isDirectory()) return undefined;
    let hit: { host: string; st: Stats } | undefined;
    for (const d of dirs) {
      const p = `${d}/${name}`;
      const st = lstatSync(p, { throwIfNoEntry: false });
      if (st !== undefined) {
        hit = { host: p, st };
        break;
      }
    }
    if (hit === undefined || isWhiteout(hit.st)) return undefined;
    if (hit.st.isSymbolicLink() && (todo.length > 0 || !noFollow)) {
      if (++links > MAX_LINKS) return undefined;
      const target = readlinkSync(hit.host);
      if (target.startsWith("/")) {
        parts = [];
        dirs = [...layers];
        found = root();
      }
      todo = [...split(target), ...todo];
      continue;
    }
    parts.push(name);
    dirs = hit.st.isDirectory() ? stepDown(dirs, name) : [];
    found = { path: `/${parts.join("/")}`, host: hit.host, st: hit.st, dirs };
  }
  return found;
}

/** The entry at canonical parts (a directory's parent chain has no symlinks). */
function entryAt(layers: readonly string[], parts: readonly string[]): LayeredEntry | undefined {
  const parent = mergedDirs(layers, parts.slice(0, -1));
  const name = parts[parts.length - 1] as string;
  for (const d of parent) {
    const st = lstatSync(`${d}/${name}`, { throwIfNoEntry: false });
    if (st === undefined) continue;
    if (isWhiteout(st)) return undefined;
    const dirs = st.isDirectory() ? mergedDirs(layers, parts) : [];
    return { path: `/${parts.join("/")}`, host: `${d}/${name}`, st, dirs };
  }
  return undefined;
}

/**
 * Makes directory `path` (and its missing parents) as it will appear in the union: in the top
 * layer (the upper directory), at the path with symlinks resolved. A parent that exists only in
 * a lower layer is made in the upper one with the lower's mode, as overlay's copy-up would; the
 * new ones get 0755. Throws when a component exists and is not a directory.
 */
export function mkdirLayered(layers: readonly string[], path: string): void {
  const upper = layers[0] as string;
  const want = split(path);
  // The longest prefix that exists, resolved; then the rest made beneath it.
  let i = want.length;
  let base: LayeredEntry | undefined;
  for (; i >= 0; i--) {
    base = lookupLayered(layers, `/${want.slice(0, i).join("/")}`);
    if (base !== undefined) break;
  }
  if (base === undefined)
    throw new LeopardError("not-found", `cannot make "${path}": the root of the layers is missing`);
  if (!base.st.isDirectory())
    throw new LeopardError("invalid-argument", `cannot make "${path}": "${base.path}" is not a directory`);
  const rest = want.slice(i);
  if (rest.length === 0) return;
  if (rest.some((c) => c === ".."))
    throw new LeopardError("invalid-argument", `cannot make "${path}": it has ".." past a missing directory`);
  const parts = split(base.path);
  let p = upper;
  for (let k = 0; k < parts.length; k++) {
    p = `${p}/${parts[k]}`;
    if (lstatSync(p, { throwIfNoEntry: false }) === undefined) {
      const lower = entryAt(layers, parts.slice(0, k + 1));
      mkdirSync(p, 0o755);
      if (lower) chmod(p, lower.st.mode & 0o7777);
    }
  }
  for (const c of rest) {
    p = `${p}/${c}`;
    mkdirSync(p, 0o755);
    chmod(p, 0o755);
  }
}
