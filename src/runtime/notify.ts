// NOTIFY_SOCKET (sd_notify) as runc passes it: create bind-mounts a directory of the state dir
// into the container where the caller's socket directory is, and points the process's
// NOTIFY_SOCKET at notify.sock in it (the plan's input, src/plan/launch-env.ts); start listens there and relays READY=1 (with
// MAINPID=<init>) to the caller's socket, returning once it did or the container is gone.

import { NOTIFY_SOCKET_NAME } from "../plan/launch-env.ts";
import { isAlive, type StateDir, type StoredState } from "../state/state.ts";
import { bindDgram, recvDgram, sendDgram } from "../sys/dgram.ts";
import { existsSync } from "../sys/fs-sync.ts";
import { closeFd } from "../sys/seqpacket.ts";
import { join } from "../util/path.ts";

const DIR = "notify";

export function notifyDir(state: StateDir, id: string): string {
  return join(state.dir(id), DIR);
}

/** start, before the process runs: the socket it will send to (when create set one up and we have a caller's). */
export function listenForNotify(state: StateDir, id: string): number | undefined {
  const caller = process.env["NOTIFY_SOCKET"];
  const dir = notifyDir(state, id);
  if (!caller || !existsSync(dir)) return undefined;
  return bindDgram(join(dir, NOTIFY_SOCKET_NAME));
}

/** Relays the container's READY=1 to the caller's socket; returns when sent or when init is gone. */
export function relayReady(fd: number, s: StoredState): void {
  const caller = process.env["NOTIFY_SOCKET"];
  try {
    while (caller && isAlive(s.pid, s.pidStartTime)) {
      const d = recvDgram(fd, 100);
      if (d === null) continue;
      const ready = new TextDecoder()
        .decode(d)
        .split("\n")
        .find((l) => l.startsWith("READY="));
      if (ready === undefined) continue;
      sendDgram(caller, new TextEncoder().encode(`${ready}\nMAINPID=${s.pid}\n`));
      return;
    }
  } finally {
    closeFd(fd);
  }
}
