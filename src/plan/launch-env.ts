// What the runtime adds to the container's process and mounts on top of config.json, as plan
// inputs (never a rewritten Spec): systemd socket activation (LISTEN_FDS) and sd_notify
// (NOTIFY_SOCKET), both as runc passes them on. Pure.
import { dirname, join } from "../util/path.ts";
import type { PlanSpec } from "./types.ts";

export interface LaunchEnv {
  /** LISTEN_FDS from systemd: that many fds from 3 pass through (counted in preserveFds too). */
  listenFds?: number | undefined;
  /**
   * NOTIFY_SOCKET: the caller's socket, and the state directory's directory (hostDir) bound where
   * the caller's socket directory is, so the process's NOTIFY_SOCKET points at notify.sock in it.
   */
  notify?: { callerSocket: string; hostDir: string } | undefined;
}

/** The socket the container's process sends READY=1 to, inside the bound directory. */
export const NOTIFY_SOCKET_NAME = "notify.sock";

/** The spec as the container gets it: LISTEN_FDS/LISTEN_PID, then the notify bind and NOTIFY_SOCKET. */
export function withLaunchEnv(spec: PlanSpec, launch: LaunchEnv): PlanSpec {
  let env = [...(spec.process.env ?? [])];
  let mounts = spec.mounts ?? [];
  if (launch.listenFds) env.push(`LISTEN_FDS=${launch.listenFds}`, "LISTEN_PID=1");
  if (launch.notify) {
    const { callerSocket, hostDir } = launch.notify;
    const inContainer = dirname(callerSocket.startsWith("@") ? "/run/notify" : callerSocket);
    mounts = [
      ...mounts,
      {
        destination: inContainer,
        source: hostDir,
        type: "bind",
        options: ["bind", "nosuid", "noexec", "nodev"],
        uidMappings: [],
        gidMappings: [],
      },
    ];
    env = [...env, `NOTIFY_SOCKET=${join(inContainer, NOTIFY_SOCKET_NAME)}`];
  }
  if (!launch.listenFds && !launch.notify) return spec;
  return { ...spec, mounts, process: { ...spec.process, env } };
}
