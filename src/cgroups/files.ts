// Reading and writing cgroup control files, making and removing cgroup directories.
//
// A control file takes one value per write(2), is never created (O_CREAT on cgroupfs fails),
// and a missing file means the host lacks the feature: that becomes an "unsupported" error
// naming the file. Directories of a fake tree (unit tests) get their parent's file names on
// mkdir, the way the kernel populates a new cgroup.
import {
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "../sys/fs-sync.ts";
import { errnoNumber, strerror } from "../util/errno.ts";
import { LeopardError } from "../util/errors.ts";

function code(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && "code" in e && typeof e.code === "string"
    ? e.code
    : undefined;
}

function sysError(what: string, path: string, e: unknown): LeopardError {
  const c = code(e);
  const n = c === undefined ? undefined : errnoNumber(c);
  const reason = n === undefined ? (e instanceof Error ? e.message : String(e)) : strerror(n);
  return new LeopardError("system", `${what}: ${reason}`, {
    cause: e,
    path,
    ...(n === undefined ? {} : { errno: n }),
  });
}

/** Write value to dir/file with one write(2). */
export function writeCg(dir: string, file: string, value: string): void {
  const path = `${dir}/${file}`;
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_TRUNC);
  } catch (e) {
    if (code(e) === "ENOENT") {
      throw new LeopardError(
        "unsupported",
        `the host's cgroups have no ${JSON.stringify(file)} file (${path})`,
        {
          cause: e,
          path,
        },
      );
    }
    throw sysError(`opening cgroup file ${JSON.stringify(path)}`, path, e);
  }
  try {
    writeSync(fd, value);
  } catch (e) {
    throw sysError(`writing ${JSON.stringify(value)} to ${JSON.stringify(path)}`, path, e);
  } finally {
    closeSync(fd);
  }
}

/** The contents of dir/file, trimmed. */
export function readCg(dir: string, file: string): string {
  const path = `${dir}/${file}`;
  try {
    return readFileSync(path, "utf8").trim();
  } catch (e) {
    if (code(e) === "ENOENT") {
      throw new LeopardError(
        "unsupported",
        `the host's cgroups have no ${JSON.stringify(file)} file (${path})`,
        {
          cause: e,
          path,
        },
      );
    }
    throw sysError(`reading ${JSON.stringify(path)}`, path, e);
  }
}

/** dir/file trimmed, or undefined when the file does not exist. */
export function readCgOpt(dir: string, file: string): string | undefined {
  try {
    return readFileSync(`${dir}/${file}`, "utf8").trim();
  } catch {
    return undefined;
  }
}

export function hasFile(dir: string, file: string): boolean {
  return existsSync(`${dir}/${file}`);
}

/** A number from a file holding one; "max" reads as undefined. */
export function readNumber(dir: string, file: string): number | undefined {
  const s = readCgOpt(dir, file);
  if (s === undefined || s === "max" || s === "") return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

/** "key value" lines (memory.stat, cpu.stat, memory.events) → numbers. */
export function readKeyValues(dir: string, file: string): Record<string, number> {
  const out: Record<string, number> = {};
  const text = readCgOpt(dir, file);
  if (text === undefined) return out;
  for (const line of text.split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k !== undefined && k !== "" && v !== undefined) out[k] = Number(v);
  }
  return out;
}

/**
 * mkdir -p below `mount`. For each directory made, top down: before(parent) runs first (v2
 * enables controllers for the parent's children), after(dir, parent) once it exists (v1 cpuset
 * copies cpus/mems into it).
 */
export function mkdirCg(
  mount: string,
  path: string,
  fake: boolean,
  hooks: { before?: (parent: string) => void; after?: (dir: string, parent: string) => void } = {},
): void {
  let dir = mount;
  for (const part of path.split("/").filter(Boolean)) {
    const parent = dir;
    dir = `${dir}/${part}`;
    if (existsSync(dir)) continue;
    hooks.before?.(parent);
    try {
      mkdirSync(dir);
    } catch (e) {
      if (code(e) === "EEXIST") continue;
      throw sysError(`creating cgroup ${JSON.stringify(dir)}`, dir, e);
    }
    if (fake) populateFake(dir, parent);
    hooks.after?.(dir, parent);
  }
}

/** Files a new cgroup starts with empty; the rest start with the parent's (default) values. */
const EMPTY_IN_CHILD = new Set([
  "cgroup.procs",
  "tasks",
  "cgroup.subtree_control",
  "cpuset.cpus",
  "cpuset.mems",
]);

/** What the kernel does on mkdir in cgroupfs, for a fake tree: the parent's files. */
function populateFake(dir: string, parent: string): void {
  for (const name of readdirSync(parent)) {
    if (!statSync(`${parent}/${name}`).isFile()) continue;
    let content = EMPTY_IN_CHILD.has(name) ? "" : readFileSync(`${parent}/${name}`, "utf8");
    // A child's controllers are those its parent enables for its children.
    if (name === "cgroup.controllers")
      content = (readCgOpt(parent, "cgroup.subtree_control") ?? "").replace(/\+/g, "");
    writeFileSync(`${dir}/${name}`, content);
  }
}

/** The cgroup directories below dir (children before parents), for removal. */
function subdirs(dir: string): string[] {
  const out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names) {
    const p = `${dir}/${n}`;
    try {
      if (!statSync(p).isDirectory()) continue;
    } catch {
      continue;
    }
    out.push(...subdirs(p), p);
  }
  return out;
}

/**
 * Remove dir and any cgroups below it. rmdir fails with EBUSY while a dying process still
 * counts, so it retries for up to `timeoutMs`.
 */
export function rmdirCg(dir: string, fake: boolean, timeoutMs = 5000): void {
  if (!existsSync(dir)) return;
  let below: string[];
  try {
    below = subdirs(dir);
  } catch (e) {
    if (code(e) === "ENOENT") return; // removed under us
    throw e;
  }
  for (const d of [...below, dir]) {
    if (fake) {
      for (const n of readdirSync(d)) if (statSync(`${d}/${n}`).isFile()) unlinkSync(`${d}/${n}`);
    }
    const deadline = Date.now() + timeoutMs;
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      try {
        rmdirSync(d);
        break;
      } catch (e) {
        if (code(e) === "ENOENT") break;
        if (code(e) !== "EBUSY" || Date.now() > deadline)
          throw sysError(`removing cgroup ${JSON.stringify(d)}`, d, e);
        Bun.sleepSync(delay);
      }
    }
  }
}

/** Poll until check() holds or timeoutMs passes; returns whether it held. */
export function waitFor(check: () => boolean, timeoutMs: number): boolean {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 1; ; delay = Math.min(delay * 2, 20)) {
    if (check()) return true;
    if (Date.now() > deadline) return false;
    Bun.sleepSync(delay);
  }
}

/** The numbers of cgroup.procs (or tasks) in dir; none if the cgroup is gone. */
export function readPids(dir: string, file = "cgroup.procs"): number[] {
  const text = readCgOpt(dir, file);
  if (text === undefined || text === "") return [];
  return text
    .split("\n")
    .map((s) => Number(s))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** "the host lacks X" as an error: `linux.resources.cpu.realtimeRuntime is not supported on cgroup v2`. */
export function unsupported(sentence: string): LeopardError {
  return new LeopardError("unsupported", sentence);
}
