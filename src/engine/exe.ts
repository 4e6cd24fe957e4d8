// Finding the command inside the image before anything runs, so `leopard run` fails the way
// docker does: 127 when the command does not exist, 126 when it is not executable. Symlinks are
// followed with the root filesystem as "/" (an absolute link never leads to the host). This is
// only for the error: the helper itself resolves and executes inside the container.
import { lstatSync, readlinkSync, statSync } from "node:fs";

export type Lookup = { found: true; path: string } | { found: false; code: 126 | 127; why: string };

/** Resolves `path` (absolute, inside the root) to a host path without leaving root; undefined when missing. */
export function resolveIn(root: string, path: string): string | undefined {
  let parts = path.split("/").filter((p) => p !== "" && p !== ".");
  const done: string[] = [];
  for (let hops = 0; parts.length > 0; ) {
    const name = parts.shift() ?? "";
    if (name === "..") {
      done.pop();
      continue;
    }
    const host = `${root}/${[...done, name].join("/")}`;
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(host);
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) {
      if (++hops > 40) return undefined;
      const target = readlinkSync(host);
      if (target.startsWith("/")) done.length = 0;
      parts = [...target.split("/").filter((p) => p !== "" && p !== "."), ...parts];
      continue;
    }
    done.push(name);
  }
  return `${root}/${done.join("/")}`;
}

export function findExecutable(root: string, argv0: string, pathEnv: string, cwd: string): Lookup {
  const candidates = argv0.includes("/")
    ? [argv0.startsWith("/") ? argv0 : `${cwd}/${argv0}`]
    : pathEnv
        .split(":")
        .filter((d) => d !== "")
        .map((d) => `${d}/${argv0}`);
  let notExecutable: string | undefined;
  for (const c of candidates) {
    const host = resolveIn(root, c);
    if (host === undefined) continue;
    const st = statSync(host, { throwIfNoEntry: false });
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
