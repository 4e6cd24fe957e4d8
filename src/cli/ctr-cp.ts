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
// freezer does not stop cannot point it at the host. Volumes and bind mounts inside the container
// are not visible here: only its root filesystem.

import { copyTree } from "../engine/copy.ts";
import { splitArg } from "../engine/copy-plan.ts";
import type { ContainerRecord } from "../engine/db.ts";
import type { Engine } from "../engine/engine.ts";
import { refresh } from "../engine/lifecycle.ts";
import { describe, LeopardError } from "../util/errors.ts";
import { openEngine } from "./engine-common.ts";
import type { Verb } from "./image-common.ts";

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

export const cpVerb: Verb = {
  usage: "cp [-a] [-L] CONTAINER:SRC DEST | cp [-a] [-L] SRC CONTAINER:DEST",
  options: {
    archive: { type: "boolean", short: "a" },
    "follow-link": { type: "boolean", short: "L" },
  },
  args: ["SRC", "DEST"],
  run: async (g, v, a) => {
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
      const root = engine.rootfsPath(c.id);
      await frozenDuring(engine, c, () =>
        copyTree(
          out ? { root, path: src.path } : { path: src.path },
          out ? { path: dst.path } : { root, path: dst.path },
          {
            archive: v["archive"] === true,
            followLink: v["follow-link"] === true,
            // Without -a: the caller's files on the host; the container's root's inside it.
            owner: out ? { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 } : { uid: 0, gid: 0 },
            dropSetid: out,
            warn,
            interrupted: () => interrupted,
          },
        ),
      );
      return 0;
    } finally {
      for (const [sig, h] of handlers) process.off(sig, h);
      engine.close();
    }
  },
};
