// OOM notifications for `events`: the kernel's count of OOM kills in the cgroup (v1
// memory.oom_control "oom_kill", v2 memory.events "oom_kill"), polled; each increase is one
// event per killed process. Polling instead of v1's cgroup.event_control eventfd keeps one
// code path for both versions and needs no blocking read on Bun's event loop.
import type { CgroupManager } from "./cgroup-manager.ts";

export interface OomWatch {
  stop(): void;
}

/**
 * Calls onOom once per OOM kill from now on; calls onGone (and stops) when the cgroup is
 * removed. The caller stops it with stop().
 */
export function watchOom(
  cg: Pick<CgroupManager, "oomKills" | "exists">,
  onOom: () => void,
  opts: { intervalMs?: number; onGone?: () => void } = {},
): OomWatch {
  let last = cg.oomKills();
  const timer = setInterval(() => {
    if (!cg.exists()) {
      clearInterval(timer);
      opts.onGone?.();
      return;
    }
    let now: number;
    try {
      now = cg.oomKills();
    } catch {
      return;
    }
    for (; last < now; last++) onOom();
  }, opts.intervalMs ?? 200);
  return { stop: () => clearInterval(timer) };
}
