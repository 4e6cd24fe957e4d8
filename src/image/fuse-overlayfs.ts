// A rootless container's root as a fuse-overlayfs mount, where the kernel refuses overlayfs in a
// user namespace (before Linux 5.11, or a storage filesystem overlay cannot use as upper).
//
// How, and why so (podman's design, one namespace pair per container instead of one per user):
// fuse-overlayfs runs as root of a user namespace of its own that maps root to the user and 1…N
// to the user's subordinate ids (the container's maps, written by newuidmap/newgidmap), in a
// mount namespace of its own (a slave copy of the host's, so later host mounts still reach it),
// and mounts the layers on the container's merged directory there with mount(2), which FUSE
// allows root of a user namespace (Linux 4.18); fusermount3 is not needed. The container then
// *joins* that user namespace (linux.namespaces user with a path) and makes its own mount
// namespace as a copy of fuse-overlayfs's (the annotation org.leopard.rootfs.mountns,
// src/config/rootfs-overlay.ts), where root.path is already the FUSE mount.
//
// Why not the simpler ways:
// - fuse-overlayfs as the user on the host, through fusermount3: its chown of a file to container
//   uid 5 (host: a subordinate id) is EPERM, and FUSE lets only the mounting user's exact
//   uid/gid in without allow_other, which fusermount3 grants only with user_allow_other in
//   /etc/fuse.conf — non-root users of the container would get EACCES on every file.
// - fuse-overlayfs started inside the container (a hook): it would be a process of the
//   container's pid namespace, and the container's root could reach the host paths of the layers
//   through /proc/<its pid>/fd. Here it is in no namespace of the container but the user one,
//   invisible from the container's /proc.
// - The container's user namespace of its own (a sibling): FUSE admits (with allow_other) only
//   processes of the mounter's user namespace and its descendants.
// Ownership then comes out as with kernel overlay: the layers' files are the user's (root in the
// container), a file the container chowns to uid 5 is the user's fifth subordinate id on disk.
//
// Its life: started by the engine before each start of the container (src/engine/lifecycle.ts),
// stopped (SIGTERM: it unmounts and exits, and its namespaces go with the last process in them)
// when the container has exited and on rm, so a stopped container leaves no process. Its pid and
// start time are kept in <container>/fuse-overlayfs.pid (a reused pid is never signalled), its
// stderr in <container>/fuse-overlayfs.log. It runs in a session of its own (setsid), so the
// terminal's ^C for `leopard run` does not reach it.
import {
  accessSync,
  constants,
  existsSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { hostToolEnv, SYSTEM_PATH } from "../sys/host-tool.ts";
import { mountInfo, processStartTime, processState } from "../sys/proc.ts";
import { LeopardError } from "../util/errors.ts";

/** How long fuse-overlayfs may take to be in its user namespace, and then to mount. */
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

export const FUSE_DEVICE = "/dev/fuse";

const tool = (name: string): string | undefined => Bun.which(name, { PATH: SYSTEM_PATH }) ?? undefined;

/** Why fuse-overlayfs cannot be used here, or undefined when it can (cheap: no process is started). */
export function fuseOverlayfsMissing(): string | undefined {
  for (const t of ["fuse-overlayfs", "unshare", "setsid", "newuidmap", "newgidmap"])
    if (tool(t) === undefined)
      return `${t} is not installed${t === "fuse-overlayfs" ? " (apt-get install fuse-overlayfs)" : ""}`;
  try {
    accessSync(FUSE_DEVICE, constants.R_OK | constants.W_OK);
  } catch (e) {
    return `${FUSE_DEVICE} cannot be opened (${(e as NodeJS.ErrnoException).code}; distributions make it 0666)`;
  }
  return undefined;
}

const pidFile = (dir: string): string => `${dir}/fuse-overlayfs.pid`;
const logFile = (dir: string): string => `${dir}/fuse-overlayfs.log`;

/** The pid of the container's running fuse-overlayfs, or undefined (none, or it exited). */
export function fuseRootPid(dir: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(pidFile(dir), "utf8");
  } catch {
    // Never started, or stopped: no pid file.
    return undefined;
  }
  const [pid, start] = text.trim().split(" ");
  const n = Number(pid);
  if (!(n > 0) || processStartTime(n) !== start) return undefined;
  const state = processState(n);
  return state === undefined || state === "Z" || state === "X" ? undefined : n;
}

export interface FuseRoot {
  /** The container's directory: upper, work, merged (the mount point) are in it. */
  dir: string;
  /** The lower directories, topmost first, ":"-joined (as overlay's lowerdir). */
  lowerdir: string;
  /**
   * Writes the id maps of fuse-overlayfs's new user namespace, the container's (the engine's
   * newuidmap/newgidmap call, src/runtime/idmap-write.ts).
   */
  writeMaps: (pid: number) => void;
}

function failure(dir: string, what: string): LeopardError {
  let log = "";
  try {
    log = readFileSync(logFile(dir), "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "" && !l.includes("unknown argument ignored"))
      .join("; ");
  } catch {
    // No log written: the reason is what we saw.
  }
  return new LeopardError("system", `fuse-overlayfs ${what}${log ? `: ${log}` : ""}`);
}

const gone = (pid: number): boolean => {
  const s = processState(pid);
  return s === undefined || s === "Z" || s === "X";
};

/**
 * Starts fuse-overlayfs for the container and waits until its mount is there; returns its pid.
 * On any failure nothing of it is left (the process is killed, its files removed).
 */
export async function startFuseRoot(r: FuseRoot): Promise<number> {
  const running = fuseRootPid(r.dir);
  if (running !== undefined) return running;
  const merged = `${r.dir}/merged`;
  const [setsid, unshare, fuse] = [tool("setsid"), tool("unshare"), tool("fuse-overlayfs")];
  if (setsid === undefined || unshare === undefined || fuse === undefined)
    throw new LeopardError("unsupported", `fuse-overlayfs cannot be started: ${fuseOverlayfsMissing()}`);
  const opts = `lowerdir=${r.lowerdir},upperdir=${r.dir}/upper,workdir=${r.dir}/work,allow_other`;
  // sh waits for the maps (a line on stdin) before it execs fuse-overlayfs: exec'd as root of
  // the namespace, it has the namespace's capabilities.
  const proc = Bun.spawn(
    [
      setsid,
      unshare,
      "--user",
      "--mount",
      "--propagation",
      "slave",
      "--",
      "/bin/sh",
      "-c",
      'read _ && exec "$@"',
      "sh",
      fuse,
      "-f",
      "-o",
      opts,
      merged,
    ],
    { stdin: "pipe", stdout: "ignore", stderr: Bun.file(logFile(r.dir)), env: hostToolEnv() },
  );
  proc.unref();
  const pid = proc.pid;
  const kill = async (): Promise<void> => {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Exited already.
    }
    await proc.exited;
  };
  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    const own = readlinkSync("/proc/self/ns/user");
    const nsOf = (): string | undefined => {
      try {
        return readlinkSync(`/proc/${pid}/ns/user`);
      } catch {
        // Exited (or not yet readable): looked at again below.
        return undefined;
      }
    };
    while (nsOf() === own || nsOf() === undefined) {
      if (proc.exitCode !== null) throw failure(r.dir, "exited before its user namespace was made");
      if (Date.now() > deadline) throw failure(r.dir, "did not make its user namespace in time");
      await Bun.sleep(2);
    }
    r.writeMaps(pid);
    proc.stdin.write("\n");
    await proc.stdin.end();
    for (;;) {
      if (proc.exitCode !== null) throw failure(r.dir, `exited (status ${proc.exitCode}) before it mounted`);
      let mounted = false;
      try {
        mounted = mountInfo(pid).some((m) => m.mountPoint === merged && m.fstype.startsWith("fuse"));
      } catch {
        // Its /proc entry is going away: the exit is seen above.
      }
      if (mounted) break;
      if (Date.now() > deadline) throw failure(r.dir, "did not mount in time");
      await Bun.sleep(2);
    }
    writeFileSync(pidFile(r.dir), `${pid} ${processStartTime(pid)}\n`);
    return pid;
  } catch (e) {
    await kill();
    rmSync(pidFile(r.dir), { force: true });
    rmSync(logFile(r.dir), { force: true });
    throw e;
  }
}

/**
 * Stops the container's fuse-overlayfs, if it runs: SIGTERM (it unmounts and exits), SIGKILL after
 * a while. Idempotent; its files are removed.
 */
export async function stopFuseRoot(dir: string): Promise<void> {
  const pid = fuseRootPid(dir);
  if (pid !== undefined) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // Exited meanwhile.
    }
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (!gone(pid) && Date.now() < deadline) await Bun.sleep(5);
    if (!gone(pid)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Exited at last.
      }
      const end = Date.now() + STOP_TIMEOUT_MS;
      while (!gone(pid) && Date.now() < end) await Bun.sleep(5);
    }
  }
  rmSync(pidFile(dir), { force: true });
  if (existsSync(logFile(dir))) rmSync(logFile(dir), { force: true });
}
