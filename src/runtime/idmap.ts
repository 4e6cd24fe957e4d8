// The host side of idmapped bind mounts: for each one the plan asks for (src/plan/idmap.ts, which
// also says why this happens here and not in the helper), a detached clone of the source with
// MOUNT_ATTR_IDMAP applied, to be inherited by the helper and attached by a MOVE_MOUNT op.
import { type IdmapRequest, mapText } from "../plan/idmap.ts";
import { MOUNT_ATTR } from "../plan/mount-options.ts";
import type { Step } from "../plan/step.ts";
import { CLONE } from "../plan/types.ts";
import { SyncTag } from "../protocol/ops.ts";
import { openSync } from "../sys/fs-sync.ts";
import { hostToolEnv } from "../sys/host-tool.ts";
import { SysError } from "../sys/libc.ts";
import { mountSetattrFd, openTreeClone } from "../sys/mount-api.ts";
import { closeFd } from "../sys/seqpacket.ts";
import { strerror } from "../util/errno.ts";
import { describe, LeopardError } from "../util/errors.ts";
import { HelperSession } from "./helper-session.ts";
import { spawnLocal } from "./spawn.ts";

/** The probe waits this long for each of its helper's messages. */
const HOLDER_TIMEOUT_MS = 10_000;
const EINVAL = 22;
const ENOENT = 2;

export interface IdmappedSources extends Disposable {
  /** Our fds of the detached clones, in request order: the helper inherits them at the session's slots. */
  fds: number[];
}

/**
 * A user namespace that carries the given maps, held open by fd: a helper session runs a two-op
 * plan (unshare the user namespace, then sync 1), writes its maps as for a container, opens
 * /proc/<pid>/ns/user before the helper resumes, and the helper ends. The namespace lives on as
 * long as the fd (or a mount using it).
 */
/** The probe's plan: a user namespace of its own, then sync 1 (its maps). */
const PROBE: Step[] = [
  { op: { op: "SET_NAME", name: "leopard:[idmap]" }, explain: "# name the helper leopard:[idmap]" },
  { op: { op: "UNSHARE", flags: CLONE.user }, explain: "unshare --user" },
  { op: { op: "SYNC", tag: SyncTag.ID_MAPS }, explain: "# the runtime writes uid_map and gid_map" },
];

async function userNamespaceFd(uid: string, gid: string): Promise<number> {
  // Started by this process itself (also in a warm worker of `serve`): a host tool's environment.
  using session = new HelperSession({
    preserveFds: 0,
    stdio: ["ignore", "ignore", "inherit"],
    what: "the user namespace of an idmapped mount",
    timeoutMs: HOLDER_TIMEOUT_MS,
    spawn: (argv, stdio) => spawnLocal(argv, stdio, { env: hostToolEnv(), cwd: process.cwd() }),
  });
  const wrap = (e: unknown) =>
    new LeopardError("system", `cannot make a user namespace for an idmapped mount: ${describe(e)}`, {
      cause: e,
    });
  try {
    session.start(PROBE);
  } catch (e) {
    if (e instanceof LeopardError && e.code === "helper") throw e; // the helper could not start
    throw wrap(e);
  }
  let ns: number | undefined;
  try {
    await session.untilEnd({
      idMaps: { uid, gid },
      idMapped: (pid) => {
        ns = openSync(`/proc/${pid}/ns/user`, "r");
      },
    });
    if (ns === undefined) throw new LeopardError("helper", "the helper ended without a user namespace");
    return ns;
  } catch (e) {
    session.kill();
    if (ns !== undefined) closeFd(ns);
    throw wrap(e);
  }
}

function mountError(r: IdmapRequest, e: unknown): LeopardError {
  const name = `idmapped mount "${r.destination}" of "${r.source}"`;
  if (!(e instanceof SysError)) return new LeopardError("system", `${name}: ${describe(e)}`, { cause: e });
  const extra = { cause: e, errno: e.errno, syscall: e.syscall, path: r.source };
  if (e.syscall === "open_tree" && e.errno === ENOENT)
    return new LeopardError("invalid-spec", `${name}: the source does not exist`, extra);
  if (e.syscall === "mount_setattr" && e.errno === EINVAL)
    return new LeopardError(
      "unsupported",
      `${name}: the kernel refuses to idmap it (its filesystem${r.recursiveIdmap ? ", or one mounted below it," : ""} does not support idmapped mounts)`,
      extra,
    );
  return new LeopardError("system", `${name}: ${e.syscall}: ${strerror(e.errno)}`, extra);
}

/**
 * Makes every requested idmapped clone. On failure nothing is left: the clones made so far are
 * closed (a detached mount vanishes with its last fd) and so are the user namespaces.
 */
export async function prepareIdmappedMounts(requests: readonly IdmapRequest[]): Promise<IdmappedSources> {
  const fds: number[] = [];
  const userns = new Map<string, number>();
  const close = (): void => {
    for (const fd of fds.splice(0)) closeFd(fd);
  };
  try {
    for (const r of requests) {
      const uid = mapText(r.uidMappings);
      const gid = mapText(r.gidMappings);
      const key = `${uid}|${gid}`;
      let ns = userns.get(key);
      if (ns === undefined) {
        ns = await userNamespaceFd(uid, gid);
        userns.set(key, ns);
      }
      let clone: number;
      try {
        clone = openTreeClone(r.source, r.recursiveBind);
      } catch (e) {
        throw mountError(r, e);
      }
      fds.push(clone);
      try {
        mountSetattrFd(clone, { set: MOUNT_ATTR.IDMAP, clear: 0, usernsFd: ns }, r.recursiveIdmap);
      } catch (e) {
        throw mountError(r, e);
      }
    }
  } catch (e) {
    close();
    throw e;
  } finally {
    for (const ns of userns.values()) closeFd(ns);
  }
  return { fds, [Symbol.dispose]: close };
}
