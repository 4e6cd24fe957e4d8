// `leopard cp [-a] [-L] CONTAINER:SRC DEST` and `leopard cp [-a] [-L] SRC CONTAINER:DEST`, as
// docker cp: files and directories into or out of the container's root filesystem, with docker's
// rules for where they land (src/engine/copy-plan.ts; SRC ending in "/." copies a directory's
// contents). Links are copied as links; -L follows SRC itself when it is one. Modes and times are
// kept. Without -a (archive) what is copied out is owned by the caller and loses its setuid and
// setgid bits, what is copied in is owned by the container's root, and device nodes and FIFOs
// are left out with a warning each (sockets always are); with -a owners, every mode bit and
// special files are as at the source. Extended attributes and hard links are not kept.
//
// Two defences against a container that changes its files during the copy (docker's
// CVE-2018-15664): a running container is frozen (the cgroup freezer, as `leopard pause`) for
// the copy and thawed afterwards — also after a failure or SIGINT/SIGTERM/SIGHUP; one the user
// had paused stays paused — and the copy itself (src/engine/copy.ts) opens every file beneath a
// directory fd with O_NOFOLLOW, never by a path a link could redirect, so even a process the
// freezer does not stop cannot point it at the host. A running container is seen as its process
// sees it, volumes, bind mounts and tmpfs included (src/engine/copy-root.ts); a stopped one is its
// root filesystem only (docker mounts the volumes of a stopped one for the copy; leopard does not).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { copyTree } from "../engine/copy.ts";
import { splitArg } from "../engine/copy-plan.ts";
import { withViewRoot } from "../engine/copy-root.ts";
import type { ContainerRecord } from "../engine/db.ts";
import type { Engine } from "../engine/engine.ts";
import { refresh } from "../engine/lifecycle.ts";
import { describe, LeopardError } from "../util/errors.ts";
import { basename, join } from "../util/path.ts";
import { engineRootless } from "../util/user-dirs.ts";
import { openEngine } from "./engine-common.ts";
import type { Globals, Values, Verb } from "./image-common.ts";

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

function warn(message: string): void {
  process.stderr.write(`leopard: cp: ${message}\n`);
}

/**
 * Runs fn with the container frozen when it is running: thawed afterwards whatever happens, so
 * a paused container stays paused and a running one runs again. A container that cannot be
 * frozen is copied from while it runs (with a warning): the copy does not rely on the freeze.
 */
async function frozenDuring<T>(engine: Engine, c: ContainerRecord, fn: () => Promise<T>): Promise<T> {
  let thaw: (() => void) | undefined;
  if (c.state === "running") {
    const cg = await import("../runtime/cgroup-verbs.ts");
    try {
      if (cg.statusWithFreezer(engine.oci, engine.oci.read(c.id)) === "running") {
        cg.pause(engine.oci, c.id);
        thaw = () => cg.resume(engine.oci, c.id);
      }
    } catch (e) {
      warn(`could not freeze container ${c.name} (${describe(e)}): copying while it runs`);
    }
  }
  try {
    return await fn();
  } finally {
    try {
      thaw?.();
    } catch (e) {
      warn(`could not thaw container ${c.name} (${describe(e)}): run "leopard unpause ${c.name}"`);
    }
  }
}

/** Runs a host tool to its end; throws one line naming it when it fails. */
async function tool(
  argv: string[],
  stdin: "inherit" | "ignore",
  stdout: "inherit" | "ignore",
): Promise<void> {
  const p = Bun.spawn(argv, { stdin, stdout, stderr: "pipe" });
  const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
  if (code !== 0)
    throw new LeopardError("invalid-argument", `${argv[0]} failed: ${err.trim().split("\n")[0] ?? code}`);
}

/**
 * The tar forms, through a private staging directory: out, the path is copied there (as -a, so
 * the tar has the container's owners and modes) and GNU tar writes it to stdout; in, tar extracts
 * stdin there (refusing absolute and ".." names) and the tree is copied into DIR, which must be a
 * directory, owners kept as in the archive. The container side is the same fd-based copy as cp's.
 */
async function tarStream(g: Globals, v: Values, from: string, to: string): Promise<number> {
  const out = to === "-";
  const ctr = splitArg(out ? from : to);
  if (ctr.ref === undefined || (out ? from : to) === "-")
    throw new LeopardError("invalid-argument", 'cp with "-" needs CONTAINER:PATH on the other side');
  const engine = openEngine(g);
  const stage = mkdtempSync(join(tmpdir(), "leopard-cp-"));
  try {
    const c = await refresh(engine, engine.db.get(ctr.ref));
    const rootfs = engine.rootView(c.id);
    const what = { path: ctr.path, out, followLink: v["follow-link"] === true };
    const opts = {
      archive: true,
      followLink: v["follow-link"] === true,
      owner: { uid: 0, gid: 0 },
      dropSetid: false,
      warn,
      interrupted: () => undefined,
    };
    if (out) {
      const name = basename(ctr.path.replace(/\/+\.?$/, "")) || ".";
      await frozenDuring(engine, c, () =>
        withViewRoot(rootfs, c.pid, what, (root, path) =>
          copyTree({ root, path }, { path: join(stage, name) }, opts),
        ),
      );
      await tool(["tar", "-C", stage, "-cf", "-", name], "ignore", "inherit");
    } else {
      await tool(["tar", "-C", stage, "-xf", "-"], "inherit", "ignore");
      await frozenDuring(engine, c, () =>
        withViewRoot(rootfs, c.pid, what, (root, path) =>
          copyTree({ path: `${stage}/.` }, { root, path }, opts),
        ),
      );
    }
    return 0;
  } finally {
    rmSync(stage, { recursive: true, force: true });
    engine.close();
  }
}

export const cpVerb: Verb = {
  usage: "cp [-a] [-L] CONTAINER:SRC DEST|- | cp [-a] [-L] SRC|- CONTAINER:DEST",
  options: {
    archive: { type: "boolean", short: "a" },
    "follow-link": { type: "boolean", short: "L" },
  },
  args: ["SRC", "DEST"],
  run: async (g, v, a) => {
    // `cp CTR:SRC -` writes a tar stream to stdout, `cp - CTR:DIR` extracts one from stdin.
    if (a[1] === "-" || a[0] === "-") return await tarStream(g, v, a[0] ?? "", a[1] ?? "");
    const src = splitArg(a[0] ?? "");
    const dst = splitArg(a[1] ?? "");
    if ((src.ref === undefined) === (dst.ref === undefined))
      throw new LeopardError(
        "invalid-argument",
        "one side of cp must be CONTAINER:PATH and the other a host path",
      );
    const out = src.ref !== undefined;
    const engine = openEngine(g);
    // A signal stops the copy at its next step (copy.ts cleans up) and the container is thawed.
    let interrupted: string | undefined;
    const handlers = SIGNALS.map((sig) => {
      const h = () => {
        interrupted = sig;
      };
      process.on(sig, h);
      return [sig, h] as const;
    });
    try {
      const c = await refresh(engine, engine.db.get((src.ref ?? dst.ref) as string));
      await frozenDuring(engine, c, () =>
        withViewRoot(
          engine.rootView(c.id),
          c.pid,
          { path: (out ? src.path : dst.path) as string, out, followLink: v["follow-link"] === true },
          (root, path) =>
            copyTree(out ? { root, path } : { path: src.path }, out ? { path: dst.path } : { root, path }, {
              archive: v["archive"] === true,
              followLink: v["follow-link"] === true,
              // Without -a: the caller's files on the host; the container's root's inside it
              // (rootless, that is the caller: root of the container's user namespace).
              owner:
                out || engineRootless()
                  ? { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 }
                  : { uid: 0, gid: 0 },
              dropSetid: out,
              warn,
              interrupted: () => interrupted,
            }),
        ),
      );
      return 0;
    } finally {
      for (const [sig, h] of handlers) process.off(sig, h);
      engine.close();
    }
  },
};
