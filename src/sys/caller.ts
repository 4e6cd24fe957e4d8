// The pid of the process that ran this command: ours, or the launcher's when a warm worker of
// `serve` runs it (systemd's LISTEN_PID names the caller, not the worker).
let caller = process.pid;

export function callerPid(): number {
  return caller;
}

export function setCallerPid(pid: number): void {
  caller = pid;
}

// A command that used process.stdin or process.stdout's terminal state (the pty relay) leaves
// Bun's stream objects bound to that caller's fds: a warm worker must not serve another after it.
let tainted = false;

export function taint(): void {
  tainted = true;
}

export function isTainted(): boolean {
  return tainted;
}
