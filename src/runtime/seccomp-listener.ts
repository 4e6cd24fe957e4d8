// SCMP_ACT_NOTIFY: each filter the helper installs with a listener (init's at create, one more per
// exec) is handed to the seccomp agent at linux.seccomp.listenerPath, as the runtime-spec says
// (config-linux.md, "The Container Process State"): over a SOCK_STREAM connection of its own, the
// state as JSON with the fd by SCM_RIGHTS in the first sendmsg, then the connection is closed.
// The connection is made before anything of the container exists, so a missing or unreachable
// listenerPath is a one-line error that leaves nothing behind.
import type { SpecSeccomp } from "../config/types.ts";
import { SysError } from "../sys/libc.ts";
import { closeFd, connectUnix, sendMsg } from "../sys/seqpacket.ts";
import { strerror } from "../util/errno.ts";
import { describe, LeopardError } from "../util/errors.ts";

/** The container process state: what the agent reads before the listener. */
export interface ContainerProcessState {
  ociVersion: string;
  /** Names of the fds sent along, in SCM_RIGHTS order. */
  fds: string[];
  /** The process the listener belongs to (init, or the exec'd process), as the runtime sees it. */
  pid: number;
  metadata?: string;
  state: {
    ociVersion: string;
    id: string;
    status: string;
    pid: number;
    bundle: string;
    annotations?: Record<string, string>;
  };
}

/** What the runtime knows when the listener arrives; the rest comes from the seccomp section. */
export interface ListenerContext {
  ociVersion: string;
  id: string;
  /** "creating" for init; the container's status for an exec. */
  status: string;
  /** The container's init. */
  initPid: number;
  bundle: string;
  annotations: Record<string, string> | undefined;
}

export function containerProcessState(
  seccomp: Pick<SpecSeccomp, "listenerMetadata">,
  ctx: ListenerContext,
  pid: number,
): ContainerProcessState {
  const annotations =
    ctx.annotations && Object.keys(ctx.annotations).length > 0 ? ctx.annotations : undefined;
  return {
    ociVersion: ctx.ociVersion,
    fds: ["seccompFd"],
    pid,
    ...(seccomp.listenerMetadata === undefined ? {} : { metadata: seccomp.listenerMetadata }),
    state: {
      ociVersion: ctx.ociVersion,
      id: ctx.id,
      status: ctx.status,
      pid: ctx.initPid,
      bundle: ctx.bundle,
      ...(annotations === undefined ? {} : { annotations }),
    },
  };
}

/** The connection to the agent, made before the container exists; closed when disposed. */
export class SeccompAgent implements Disposable {
  private constructor(
    private fd: number | undefined,
    readonly path: string,
  ) {}

  /** Connects when the filter has a listener; undefined otherwise. */
  static connect(
    seccomp: Pick<SpecSeccomp, "listenerPath"> | undefined,
    listener: boolean,
  ): SeccompAgent | undefined {
    if (!listener || seccomp === undefined) return undefined;
    const path = seccomp.listenerPath;
    // Validation requires listenerPath whenever a rule notifies.
    if (path === undefined) throw new LeopardError("invalid-spec", "linux.seccomp.listenerPath is not set");
    try {
      return new SeccompAgent(connectUnix(path), path);
    } catch (e) {
      throw new LeopardError(
        "invalid-argument",
        `cannot connect to seccomp listenerPath "${path}": ${why(e)}`,
        {
          cause: e,
        },
      );
    }
  }

  /** Sends the state and the listener fd, then closes the connection (one state per connection). */
  send(listenerFd: number, state: ContainerProcessState): void {
    const conn = this.fd;
    if (conn === undefined)
      throw new LeopardError("protocol", `a second seccomp listener for "${this.path}" in one launch`);
    this.fd = undefined;
    const data = new TextEncoder().encode(JSON.stringify(state));
    try {
      // A stream socket may take part of it: the fd goes with the first sendmsg only.
      let sent = sendMsg(conn, data, [listenerFd]);
      while (sent < data.length) sent += sendMsg(conn, data.subarray(sent));
    } catch (e) {
      throw new LeopardError("system", `cannot send the seccomp listener to "${this.path}": ${why(e)}`, {
        cause: e,
      });
    } finally {
      closeFd(conn);
    }
  }

  [Symbol.dispose](): void {
    if (this.fd !== undefined) closeFd(this.fd);
    this.fd = undefined;
  }
}

const why = (e: unknown): string => (e instanceof SysError ? strerror(e.errno) : describe(e));

/** The one fd of a SECCOMP_LISTENER sync, given to `send`; every fd of the message is closed after. */
export function handOverListener(fds: readonly number[], send: (fd: number) => void): void {
  try {
    const fd = fds[0];
    if (fd === undefined || fds.length !== 1)
      throw new LeopardError(
        "protocol",
        `the helper sent ${fds.length} fds with the seccomp listener sync, not 1`,
      );
    send(fd);
  } finally {
    for (const fd of fds) closeFd(fd);
  }
}
