// The host side of idmapped bind mounts: for each one the plan asks for (src/plan/idmap.ts, which
// also says why this happens here and not in the helper), a detached clone of the source with
// MOUNT_ATTR_IDMAP applied, to be inherited by the helper and attached by a MOVE_MOUNT op.

import { type IdmapRequest, mapText } from "../plan/idmap.ts";
import { MOUNT_ATTR } from "../plan/mount-options.ts";
import { CLONE } from "../plan/types.ts";
import { decodeMessage } from "../protocol/decode.ts";
import { planFrame } from "../protocol/encode.ts";
import { SyncTag } from "../protocol/ops.ts";
import { openSync, writeFileSync } from "../sys/fs-sync.ts";
import { hostToolEnv } from "../sys/host-tool.ts";
import { SysError } from "../sys/libc.ts";
import { mountSetattrFd, openTreeClone } from "../sys/mount-api.ts";
import { getRlimit, RLIMIT_NOFILE, setRlimit } from "../sys/rlimit.ts";
import { closeFd, recvMsg, sendMsg, socketPair } from "../sys/seqpacket.ts";
import { strerror } from "../util/errno.ts";
import { describe, LeopardError } from "../util/errors.ts";
import { helperPath } from "./helper-path.ts";

const HOLDER_TIMEOUT_MS = 10_000;
const SPAWN_NOFILE = 1024n;
const EINVAL = 22;
const ENOENT = 2;

export interface IdmappedSources extends Disposable {
  /** Our fds of the detached clones, in request order: the helper inherits them at the session's slots. */
  fds: number[];
}

/**
 * A user namespace that carries the given maps, held open by fd: our helper runs a two-op plan
 * (unshare the user namespace, then wait at sync 1), we write its maps as for a container, open
 * /proc/<pid>/ns/user and kill it. The namespace lives on as long as the fd (or a mount using it).
 */
function userNamespaceFd(uidMap: string, gidMap: string): number {
  const [ours, theirs] = socketPair();
  const nofile = getRlimit(RLIMIT_NOFILE);
  if (nofile.soft > SPAWN_NOFILE) setRlimit(RLIMIT_NOFILE, { soft: SPAWN_NOFILE, hard: nofile.hard });
  let helper: ReturnType<typeof Bun.spawn> | undefined;
  try {
    // Started by this process itself (also in a warm worker of `serve`): a host tool's environment.
    helper = Bun.spawn([helperPath(), "3"], {
      stdio: ["ignore", "ignore", "inherit", theirs],
      env: hostToolEnv(),
    });
  } catch (e) {
    closeFd(ours);
    throw new LeopardError("helper", `cannot start the helper: ${describe(e)}`, { cause: e });
  } finally {
    if (nofile.soft > SPAWN_NOFILE) setRlimit(RLIMIT_NOFILE, nofile);
    closeFd(theirs);
  }
  try {
    sendMsg(
      ours,
      planFrame([
        { op: "SET_NAME", name: "leopard:[idmap]" },
        { op: "UNSHARE", flags: CLONE.user },
        { op: "SYNC", tag: SyncTag.ID_MAPS },
      ]),
    );
    const m = recvMsg(ours, HOLDER_TIMEOUT_MS);
    if (m === null) throw new LeopardError("helper", "the helper exited before its user namespace existed");
    const msg = decodeMessage(m.data);
    if (msg.type !== "sync" || msg.tag !== SyncTag.ID_MAPS)
      throw new LeopardError(
        "helper",
        `the helper sent ${msg.type === "error" ? `an error (${msg.message})` : msg.type}`,
      );
    writeFileSync(`/proc/${msg.pid}/uid_map`, uidMap);
    writeFileSync(`/proc/${msg.pid}/gid_map`, gidMap);
    return openSync(`/proc/${msg.pid}/ns/user`, "r");
  } catch (e) {
    throw new LeopardError("system", `cannot make a user namespace for an idmapped mount: ${describe(e)}`, {
      cause: e,
    });
  } finally {
    helper.kill("SIGKILL");
    closeFd(ours);
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
export function prepareIdmappedMounts(requests: readonly IdmapRequest[]): IdmappedSources {
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
        ns = userNamespaceFd(uid, gid);
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
