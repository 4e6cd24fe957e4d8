// `kill --all`: a signal to every process in the container's cgroup. The cgroup is frozen
// while the list is read and signalled, so a process that forks meanwhile cannot leave a
// child unsignalled; then thawed (a frozen process acts on its signal once thawed).
import type { CgroupManager } from "./cgroup-manager.ts";

/** Signals every process in the cgroup; returns the pids signalled. */
export function signalAll(cg: CgroupManager, signal: NodeJS.Signals | number): number[] {
  let froze = false;
  if (cg.freezerState() === "thawed") {
    try {
      cg.freeze();
      froze = true;
    } catch {
      // no freezer (a v1 host without it): signal unfrozen, as runc does
    }
  }
  const sent: number[] = [];
  try {
    for (const pid of cg.pids()) {
      try {
        process.kill(pid, signal);
        sent.push(pid);
      } catch {
        // exited meanwhile
      }
    }
  } finally {
    if (froze) cg.thaw();
  }
  return sent;
}
