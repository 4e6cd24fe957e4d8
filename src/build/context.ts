// The build context: a directory, filtered by its .dockerignore (@balena/dockerignore, docker's
// pattern rules with "!" exceptions). COPY/ADD sources are context-relative paths or wildcards;
// one that leaves the context or matches nothing is an error naming it. A source is first
// staged — copied out of the context (links as links, every mode bit, times) into a private
// directory — so that what the step copies is fixed, --chmod applies to it, and its content
// digest (the cache's input) is of exactly that.
import { createHash } from "node:crypto";
import {
  closeSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  realpathSync,
  symlinkSync,
  utimesSync,
} from "node:fs";
import ignore from "@balena/dockerignore";
import { chmod } from "../image/ffi.ts";
import { LeopardError } from "../util/errors.ts";
import { posix } from "../util/path.ts";

const GLOB = /[*?[]/;

export class BuildContext {
  readonly #ig: ReturnType<typeof ignore>;
  readonly #hasExceptions: boolean;

  constructor(readonly dir: string) {
    let text = "";
    try {
      text = readFileSync(`${dir}/.dockerignore`, "utf8");
    } catch {
      // no .dockerignore: nothing is excluded
    }
    const lines = text
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("#"));
    this.#ig = ignore().add(lines);
    this.#hasExceptions = lines.some((l) => l.startsWith("!"));
  }

  ignored(rel: string): boolean {
    return rel !== "" && rel !== "." && this.#ig.ignores(rel);
  }

  /** Context-relative paths a source names (wildcards expanded), checked to exist and stay inside. */
  resolve(source: string, what: string): string[] {
    const rel = posix.normalize(`/${source}`).slice(1).replace(/\/$/, "");
    if (posix.normalize(source).startsWith("../") || posix.normalize(source) === "..")
      throw new LeopardError("invalid-argument", `${what} source "${source}" is outside the build context`);
    if (!GLOB.test(rel)) {
      if (!exists(`${this.dir}/${rel}`) || this.ignored(rel))
        throw new LeopardError(
          "not-found",
          `${what} source "${source}" is not in the build context${exists(`${this.dir}/${rel}`) ? " (excluded by .dockerignore)" : ""}`,
        );
      this.#inside(rel, source, what);
      return [rel];
    }
    const g = new Bun.Glob(rel);
    const out = [...g.scanSync({ cwd: this.dir, onlyFiles: false, dot: true, followSymlinks: false })]
      .map((p) => p.replace(/\/$/, ""))
      .filter((p) => g.match(p) && !this.ignored(p))
      .sort();
    if (out.length === 0)
      throw new LeopardError("not-found", `${what} source "${source}" matches nothing in the build context`);
    for (const p of out) this.#inside(p, source, what);
    return out;
  }

  /**
   * The directories leading to rel must not leave the context through a symbolic link (a
   * source that is itself a link is copied as the link, never followed).
   */
  #inside(rel: string, source: string, what: string): void {
    const top = realpathSync(this.dir);
    const parent = realpathSync(posix.join(this.dir, posix.dirname(rel === "" ? "." : rel)));
    if (parent !== top && !parent.startsWith(`${top}/`))
      throw new LeopardError(
        "invalid-argument",
        `${what} source "${source}" is outside the build context (through a symbolic link)`,
      );
  }

  /**
   * Copies the context's `rel` into `into` (an existing directory): a directory's contents
   * (filtered), anything else as into/<its name>. Returns what it was.
   */
  stage(rel: string, into: string): "dir" | "file" {
    const src = rel === "" ? this.dir : `${this.dir}/${rel}`;
    const st = lstatSync(src);
    if (st.isDirectory()) {
      this.#copyChildren(rel, into);
      return "dir";
    }
    copyEntry(src, `${into}/${posix.basename(rel)}`);
    return "file";
  }

  #copyChildren(rel: string, into: string): void {
    const src = rel === "" ? this.dir : `${this.dir}/${rel}`;
    for (const name of readdirSync(src).sort()) {
      const r = rel === "" ? name : `${rel}/${name}`;
      const from = `${src}/${name}`;
      const st = lstatSync(from);
      const skip = this.ignored(r);
      if (st.isDirectory()) {
        if (skip && !this.#hasExceptions) continue;
        mkdirSync(`${into}/${name}`);
        this.#copyChildren(r, `${into}/${name}`);
        chmod(`${into}/${name}`, st.mode);
        utimesSync(`${into}/${name}`, st.atime, st.mtime);
        continue;
      }
      if (skip) continue;
      copyEntry(from, `${into}/${name}`);
    }
  }
}

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** One file, link or directory (with its contents), mode bits and times kept. */
export function copyEntry(from: string, to: string): void {
  const st = lstatSync(from);
  if (st.isSymbolicLink()) {
    symlinkSync(readlinkSync(from), to);
    return;
  }
  if (st.isDirectory()) {
    mkdirSync(to);
    for (const n of readdirSync(from)) copyEntry(`${from}/${n}`, `${to}/${n}`);
  } else if (st.isFile()) copyFileSync(from, to);
  else throw new LeopardError("invalid-argument", `"${from}" is not a regular file, directory or link`);
  chmod(to, st.mode);
  utimesSync(to, st.atime, st.mtime);
}

/** Applies --chmod to everything under dir (not dir itself) and, for a file source, to it. */
export function chmodTree(dir: string, mode: number): void {
  for (const n of readdirSync(dir)) {
    const p = `${dir}/${n}`;
    const st = lstatSync(p);
    if (st.isSymbolicLink()) continue;
    chmod(p, mode);
    if (st.isDirectory()) chmodTree(p, mode);
  }
}

/** A digest of a staged tree: names, types, modes, owners, link targets and contents. */
export function treeDigest(dir: string): string {
  const h = createHash("sha256");
  const walk = (rel: string) => {
    const base = rel === "" ? dir : `${dir}/${rel}`;
    for (const n of readdirSync(base).sort()) {
      const r = rel === "" ? n : `${rel}/${n}`;
      const p = `${dir}/${r}`;
      const st = lstatSync(p);
      h.update(`${r}\0${st.mode}\0${st.uid}:${st.gid}\0`);
      if (st.isSymbolicLink()) h.update(`->${readlinkSync(p)}\0`);
      else if (st.isFile()) h.update(fileDigest(p));
      else if (st.isDirectory()) walk(r);
    }
  };
  walk("");
  return `sha256:${h.digest("hex")}`;
}

function fileDigest(p: string): string {
  const h = createHash("sha256");
  const fd = openSync(p, "r");
  try {
    const buf = new Uint8Array(1 << 20);
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}

/** Whether a file is a tar archive ADD unpacks: gzip, bzip2, xz, zstd, or a ustar header. */
export function isArchive(p: string): boolean {
  let fd: number;
  try {
    fd = openSync(p, "r");
  } catch {
    return false;
  }
  try {
    const b = new Uint8Array(512);
    const n = readSync(fd, b, 0, 512, 0);
    if (n >= 2 && b[0] === 0x1f && b[1] === 0x8b) return true;
    if (n >= 6 && b[0] === 0xfd && b[1] === 0x37 && b[2] === 0x7a && b[3] === 0x58 && b[4] === 0x5a)
      return true;
    if (n >= 4 && b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd) return true;
    return n >= 262 && new TextDecoder().decode(b.subarray(257, 262)) === "ustar";
  } finally {
    closeSync(fd);
  }
}
