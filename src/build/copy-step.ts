// COPY and ADD, docker's rules. Staging: each source n goes to <dir>/<n> — a file under its own
// name, a directory's contents, an ADDed archive unpacked (image/unpack.ts, which keeps every
// entry inside), an inline here-document as a file — read from the context (context.ts) or,
// with --from, beneath an earlier stage's or an image's root filesystem; --chmod is applied
// there. Placing: into the step's root filesystem beneath its root (engine/copy.ts, by fd):
// a directory's contents into the destination directory, a file into it (destination ending in
// "/", several sources, or an existing directory) or as it; missing directories are made, with
// --chown's owner; what is copied belongs to root, or to --chown's user (names looked up in the
// image's own /etc/passwd and /etc/group; a user alone is also the group, as docker does).
import { closeSync, fchownSync, fstatSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { copyTree } from "../engine/copy.ts";
import { readInRoot } from "../engine/exe.ts";
import { resolveUser } from "../engine/users.ts";
import { mkdirInRoot } from "../engine/workdir.ts";
import { unpackLayer } from "../image/unpack.ts";
import { O_DIRECTORY, O_NOFOLLOW, O_PATH, openInRoot } from "../sys/openat2.ts";
import { describe, LeopardError } from "../util/errors.ts";
import { posix } from "../util/path.ts";
import { type BuildContext, chmodTree, isArchive } from "./context.ts";
import type { Effect } from "./plan.ts";

export type CopyEffect = Extract<Effect, { kind: "copy" }>;

export interface Staged {
  dir: string;
  /** Per source: a directory's contents, or one file (or link) under its name. */
  kinds: ("dir" | "file")[];
  /** Per source: an unpacked archive, whose owners stay unless --chown. */
  archive: boolean[];
}

const O_RDONLY = 0;

/** Stages the sources from the build context, or (--from) from beneath `root`. */
export async function stageCopy(
  e: CopyEffect,
  dir: string,
  from: { context: BuildContext; dir: string } | { root: string },
): Promise<Staged> {
  const what = e.add ? "ADD" : "COPY";
  const kinds: ("dir" | "file")[] = [];
  const archive: boolean[] = [];
  let n = 0;
  const next = () => {
    const d = `${dir}/${n++}`;
    mkdirSync(d);
    return d;
  };
  if ("root" in from) {
    for (const s of e.sources) {
      const into = next();
      const path = posix.resolve("/", s);
      const isDir = isDirInRoot(from.root, path);
      await copyTree(
        { root: from.root, path: isDir ? `${path}/.` : path },
        { path: `${into}/` },
        {
          followLink: false,
          archive: true,
          owner: { uid: 0, gid: 0 },
          dropSetid: false,
          warn: () => undefined,
        },
      ).catch((err) => {
        throw new LeopardError("not-found", `${what} --from=${e.from}: source "${s}": ${describe(err)}`);
      });
      kinds.push(isDir ? "dir" : "file");
      archive.push(false);
    }
  } else {
    for (const s of e.sources) {
      const inline = e.inline?.[s];
      if (inline !== undefined) {
        writeFileSync(`${next()}/${s.slice(2)}`, inline, { mode: 0o644 });
        kinds.push("file");
        archive.push(false);
        continue;
      }
      if (/^[a-z]+:\/\//i.test(s))
        throw new LeopardError("unsupported", `${what} of a URL ("${s}") is not supported`);
      for (const rel of from.context.resolve(s, what)) {
        const into = next();
        const full = `${from.dir}/${rel}`;
        if (e.add && lstatSync(full).isFile() && isArchive(full)) {
          await unpackLayer(full, into);
          kinds.push("dir");
          archive.push(true);
        } else {
          kinds.push(from.context.stage(rel, into));
          archive.push(false);
        }
      }
    }
  }
  if (e.chmod !== undefined) chmodTree(dir, e.chmod);
  if (kinds.length > 1 && !e.dest.endsWith("/"))
    throw new LeopardError(
      "invalid-argument",
      `${what} of more than one file needs a destination directory ending in "/" ("${e.dest}")`,
    );
  return { dir, kinds, archive };
}

/** Writes the staged sources beneath root. */
export async function placeCopy(
  root: string,
  e: CopyEffect,
  staged: Staged,
  warn: (message: string) => void,
  /**
   * Rootless: the container's owner as the host's (root is the user; a file the user cannot
   * give to another id is refused in one line). The step's layer maps it back (build.ts).
   */
  hostOwner?: (o: { uid: number; gid: number }) => { uid: number; gid: number },
): Promise<void> {
  let owner = { uid: 0, gid: 0 };
  if (e.chown !== undefined) {
    const [u = "", g] = e.chown.split(":");
    const r = resolveUser(e.chown, readInRoot(root, "/etc/passwd"), readInRoot(root, "/etc/group"));
    owner = { uid: r.uid, gid: g === undefined && /^\d+$/.test(u) ? r.uid : r.gid };
  }
  if (hostOwner !== undefined) owner = hostOwner(owner);
  const destIsDir =
    e.dest.endsWith("/") || staged.kinds.some((k) => k === "dir") || isDirInRoot(root, e.dest);
  const dest = e.dest.replace(/\/+$/, "") || "/";
  mkdirOwned(root, destIsDir ? dest : posix.dirname(dest), e.chown === undefined ? undefined : owner);
  for (let k = 0; k < staged.kinds.length; k++) {
    const from = `${staged.dir}/${k}`;
    const opts = {
      followLink: false,
      archive: (staged.archive[k] ?? false) && e.chown === undefined,
      owner,
      dropSetid: false,
      warn,
    };
    if (staged.kinds[k] === "dir") await copyTree({ path: `${from}/.` }, { root, path: dest }, opts);
    else {
      const name = readdirSync(from)[0] ?? "";
      await copyTree(
        { path: `${from}/${name}` },
        { root, path: destIsDir ? `${dest === "/" ? "" : dest}/` : dest },
        opts,
      );
    }
  }
}

/**
 * Makes a destination directory and its missing parents beneath root; with --chown the ones it
 * made get that owner, as BuildKit and buildah do.
 */
function mkdirOwned(root: string, path: string, owner: { uid: number; gid: number } | undefined): void {
  const made: string[] = [];
  let cur = "";
  for (const part of path.split("/").filter((p) => p !== "")) {
    cur += `/${part}`;
    if (!existsInRoot(root, cur)) made.push(cur);
  }
  mkdirInRoot(root, path);
  if (owner === undefined) return;
  for (const d of made) {
    const fd = openInRoot(root, d, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    try {
      fchownSync(fd, owner.uid, owner.gid);
    } finally {
      closeSync(fd);
    }
  }
}

function existsInRoot(root: string, path: string): boolean {
  try {
    closeSync(openInRoot(root, path, O_PATH | O_NOFOLLOW));
    return true;
  } catch {
    return false;
  }
}

function isDirInRoot(root: string, path: string): boolean {
  let fd: number;
  try {
    fd = openInRoot(root, path, O_PATH);
  } catch {
    return false;
  }
  try {
    return fstatSync(fd).isDirectory();
  } finally {
    closeSync(fd);
  }
}
