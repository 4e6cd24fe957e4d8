// A server started by a direct call, where no service manager can start one: for uid 0 in a user
// namespace other than the initial one — rootless podman runs its runtime in the user and mount
// namespaces its pause process keeps, and a server serves only callers in its own namespaces
// (worker.ts), so neither root's nor the user's socket-activated server (systemd's units, outside
// those namespaces) can take these calls. Each call there would pay Bun's start-up and the
// CLI's loading, three times per `podman run`. So a direct `start` in such a namespace, finding
// no server on that namespace's socket (serve-dir.ts: $XDG_RUNTIME_DIR/leopard-serve/userns-<inode>),
// starts `leopard-oci serve` there, detached (a session of its own, stdio on /dev/null, cwd /), which
// exits after AUTOSTART_IDLE_EXIT_S without a call: the next calls in that namespace are served,
// an unused one costs nothing. `start` is the call podman makes itself (create comes from conmon,
// which would adopt the server as its subreaper). LEOPARD_SERVE=0 (never served) or =1, and
// LEOPARD_SERVE_DIR (someone chose the server), turn it off.
import { statSync } from "../sys/fs-sync.ts";
import { SysError } from "../sys/libc.ts";
import { closeFd, connectUnix } from "../sys/seqpacket.ts";
import { bundled, bundlePath } from "../util/layout.ts";
import { defaultServeDir, INITIAL_USERNS_INO, type ServeDirFacts } from "./serve-dir.ts";

/** How long a server started this way idles before it exits, in seconds. */
export const AUTOSTART_IDLE_EXIT_S = 120;

const ENOENT = 2;
const ECONNREFUSED = 111;

export interface AutostartFacts extends ServeDirFacts {
  /** The verb this direct call ran, and its exit status. */
  verb: string;
  code: number;
  /** Running from a bundle (installed or the checkout's build): the launcher serves only those. */
  bundled: boolean;
}

/** The socket a server should be started on after this direct call, or undefined for none. */
export function autostartSocket(f: AutostartFacts): string | undefined {
  if (f.verb !== "start" || f.code !== 0 || !f.bundled) return undefined;
  if (f.env["LEOPARD_SERVE"] !== undefined || f.env["LEOPARD_SERVE_DIR"]) return undefined;
  if (f.euid !== 0 || f.usernsIno === INITIAL_USERNS_INO || f.usernsIno === 0) return undefined;
  const dir = defaultServeDir(f);
  return dir === undefined ? undefined : `${dir}/leopard-oci.sock`;
}

/** The server's command line: our Bun on the whole CLI, as the launcher runs it directly. */
export function autostartArgv(bun: string, bundle: string, socket: string): string[] {
  return [
    bun,
    "--no-env-file",
    "--config=/dev/null",
    bundle,
    "serve",
    "--socket",
    socket,
    "--idle-exit",
    String(AUTOSTART_IDLE_EXIT_S),
  ];
}

/** Whether nothing listens on the socket (absent, or a stale one no process holds). */
export function nobodyListens(socket: string): boolean {
  try {
    closeFd(connectUnix(socket, "seqpacket"));
    return false;
  } catch (e) {
    return e instanceof SysError && (e.errno === ENOENT || e.errno === ECONNREFUSED);
  }
}

/**
 * The environment the server gets: ours without what belongs to this call alone (systemd's
 * notification and activation variables, which podman or a unit may have given the runtime).
 */
export function autostartEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env))
    if (v !== undefined && !["NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"].includes(k))
      out[k] = v;
  return out;
}

/** After a direct call: starts the namespace's server when autostartSocket says so. Never throws. */
export function autostart(verb: string, code: number): void {
  // Every direct start and delete comes here: the cheap tests first, the stat only for a start.
  if (verb !== "start" || code !== 0 || process.env["LEOPARD_SERVE"] !== undefined) return;
  try {
    let usernsIno = 0;
    try {
      usernsIno = statSync("/proc/self/ns/user").ino;
    } catch {
      // No /proc: no namespace to tell (autostartSocket then starts nothing).
    }
    const socket = autostartSocket({
      env: process.env,
      euid: process.geteuid?.() ?? 0,
      usernsIno,
      verb,
      code,
      bundled: bundled(),
    });
    if (socket === undefined || !nobodyListens(socket)) return;
    const child = Bun.spawn(autostartArgv(process.execPath, bundlePath("leopard-oci"), socket), {
      cwd: "/",
      env: autostartEnv(process.env),
      stdio: ["ignore", "ignore", "ignore"],
      detached: true,
    });
    child.unref();
  } catch {
    // The call itself is done and succeeded; a server that cannot be started only means the next
    // call runs directly too.
  }
}
