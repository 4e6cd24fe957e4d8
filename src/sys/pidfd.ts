// Waiting for a process that is not our child to exit, without polling /proc: pidfd_open(2)
// (Linux 5.3) gives an fd that poll(2) reports readable once the process has exited.
import { errno, libc } from "./libc.ts";

const SYS_PIDFD_OPEN = 434; // the same on x86-64 and arm64
const POLLIN = 1;
const EINTR = 4;

/** A pidfd for pid; undefined when the process is gone (ESRCH) or the kernel lacks pidfds. */
export function pidfdOpen(pid: number): number | undefined {
  const fd = Number(libc().syscall(SYS_PIDFD_OPEN, pid, 0, 0));
  return fd >= 0 ? fd : undefined;
}

/** Blocks until the pidfd's process exits or timeoutMs passes; "error" if poll(2) fails. */
export function pidfdWait(fd: number, timeoutMs: number): "exited" | "timeout" | "error" {
  const pfd = new Int32Array([fd, POLLIN]);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = Math.max(0, deadline - Date.now());
    const n = libc().poll(pfd, 1, left);
    if (n > 0) return "exited";
    if (n === 0) return "timeout";
    if (errno() !== EINTR) return "error";
  }
}

export function pidfdClose(fd: number): void {
  libc().close(fd);
}
