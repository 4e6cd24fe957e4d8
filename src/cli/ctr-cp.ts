// `leopard cp CONTAINER:SRC DEST` and `leopard cp SRC CONTAINER:DEST`, as docker cp: files and
// directories with modes, owners and times, into or out of the container's root filesystem.
// The container side is opened with openat2(RESOLVE_IN_ROOT) and handed to cp(1) as
// /proc/self/fd/3, so a symlink in the container (`/etc -> /`, `../../..`) cannot point the
// copy at the host (docker's CVE-2018-15664 class); cp itself copies links as links.
// Volumes and bind mounts inside the container are not visible here: only its root filesystem.
import { existsSync, statSync } from "node:fs";
import { basename, dirname } from "node:path";
import { refresh } from "../engine/lifecycle.ts";
import { spawnTool } from "../sys/host-tool.ts";
import { O_DIRECTORY, O_PATH, openInRoot } from "../sys/openat2.ts";
import { closeFd } from "../sys/seqpacket.ts";
import { describe, LeopardError } from "../util/errors.ts";
import { openEngine } from "./engine-common.ts";
import type { Verb } from "./image-common.ts";

function split(arg: string): { ref?: string; path: string } {
  const i = arg.indexOf(":");
  if (i > 0 && !arg.startsWith("/") && !arg.startsWith("."))
    return { ref: arg.slice(0, i), path: arg.slice(i + 1) || "/" };
  return { path: arg };
}

async function runCp(args: string[], fd: number): Promise<void> {
  const p = spawnTool(["cp", "-a", ...args], { stdio: ["ignore", "ignore", "pipe", fd] });
  const err = await new Response(p.stderr).text();
  if ((await p.exited) !== 0)
    throw new LeopardError(
      "system",
      `copy failed: ${err.trim().replaceAll("/proc/self/fd/3", "<container>")}`,
    );
}

function open(root: string, path: string, flags: number, what: string): number {
  try {
    return openInRoot(root, path, flags);
  } catch (e) {
    throw new LeopardError("not-found", `${what} "${path}": ${describe(e)}`);
  }
}

export const cpVerb: Verb = {
  usage: "cp CONTAINER:SRC DEST | cp SRC CONTAINER:DEST",
  options: {},
  args: ["SRC", "DEST"],
  run: async (g, _v, a) => {
    const src = split(a[0] ?? "");
    const dst = split(a[1] ?? "");
    if ((src.ref === undefined) === (dst.ref === undefined))
      throw new LeopardError(
        "invalid-argument",
        "one side of cp must be CONTAINER:PATH and the other a host path",
      );
    const engine = openEngine(g);
    try {
      const c = await refresh(engine, engine.db.get((src.ref ?? dst.ref) as string));
      const root = engine.rootfsPath(c.id);
      if (src.ref !== undefined) {
        // Out of the container: DEST an existing directory gets SRC's name inside it.
        const fd = open(root, src.path, O_PATH, "no such path in the container:");
        try {
          const target =
            existsSync(dst.path) && statSync(dst.path).isDirectory()
              ? `${dst.path}/${basename(src.path) || "root"}`
              : dst.path;
          await runCp(["-H", "-T", "/proc/self/fd/3", target], fd);
        } finally {
          closeFd(fd);
        }
        return 0;
      }
      if (!existsSync(src.path))
        throw new LeopardError("not-found", `no such file or directory: ${src.path}`);
      // Into the container: DEST an existing directory gets SRC inside it; else DEST is the new name.
      let dirFd: number;
      let name: string;
      try {
        dirFd = openInRoot(root, dst.path, O_PATH | O_DIRECTORY);
        name = basename(src.path);
      } catch {
        dirFd = open(root, dirname(dst.path), O_PATH | O_DIRECTORY, "no such directory in the container:");
        name = basename(dst.path);
      }
      try {
        await runCp(["--remove-destination", "-T", src.path, `/proc/self/fd/3/${name}`], dirFd);
      } finally {
        closeFd(dirFd);
      }
      return 0;
    } finally {
      engine.close();
    }
  },
};
