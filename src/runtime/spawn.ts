// Starting the C helper. Normally a child of this process (Bun.spawn); when a warm worker of
// `leopard-oci serve` runs the command, the launcher that called it starts the helper instead,
// so the container still descends from the caller (conmon and containerd's shim reap it).
// See src/serve/worker.ts.
import { getRlimit, RLIMIT_NOFILE, setRlimit } from "../sys/rlimit.ts";

/** What the runtime needs of a started helper. */
export interface HelperProcess {
  readonly pid: number;
  /** The exit status; 128 + the signal number when a signal ended it, as a shell reports it. */
  readonly exited: Promise<number>;
  kill(signal: NodeJS.Signals | number): void;
}

/**
 * Each child fd in order from 0: "inherit" (the caller's fd at that number), `{ caller: n }` (the
 * caller's fd n: --preserve-fds, LISTEN_FDS), "ignore" (/dev/null) or an fd of this process. The
 * caller is this process unless a worker of `serve` runs the command for a launcher.
 */
export type HelperStdio = (number | "inherit" | "ignore" | { caller: number })[];

/** A program's own environment and working directory (else the caller's). */
export interface SpawnOptions {
  env: Record<string, string>;
  cwd: string;
}

export type Spawner = (argv: string[], stdio: HelperStdio, own?: SpawnOptions) => HelperProcess;

// Bun's spawn closes every fd up to the soft open-file limit in the child: with a limit of
// 20,000 that is ~20 ms per container. The plan restores the caller's limit inside.
const SPAWN_NOFILE = 1024n;

/** A child of this process, whoever the caller is (the id-map probe's helper). */
export function spawnLocal(argv: string[], stdio: HelperStdio, own?: SpawnOptions): HelperProcess {
  const nofile = getRlimit(RLIMIT_NOFILE);
  if (nofile.soft > SPAWN_NOFILE) setRlimit(RLIMIT_NOFILE, { soft: SPAWN_NOFILE, hard: nofile.hard });
  try {
    const fds = stdio.map((s) => (typeof s === "object" ? s.caller : s));
    const p = Bun.spawn(argv, {
      stdio: fds as ["inherit", "inherit", "inherit"],
      ...(own === undefined ? {} : { env: own.env, cwd: own.cwd }),
    });
    // Bun's exited is already 128 + the signal number for a signalled child.
    return { pid: p.pid, exited: p.exited, kill: (s) => p.kill(s) };
  } finally {
    if (nofile.soft > SPAWN_NOFILE) setRlimit(RLIMIT_NOFILE, nofile);
  }
}

let spawner: Spawner = spawnLocal;

/** Starts a program in the caller's process tree: the C helper, or conmon for the engine. */
export function spawnHelper(argv: string[], stdio: HelperStdio, own?: SpawnOptions): HelperProcess {
  return spawner(argv, stdio, own);
}

/** The spawner in use: the engine wraps it to give a foreground container's helper other stdio. */
export function currentSpawner(): Spawner {
  return spawner;
}

/** The worker of `leopard-oci serve` routes helper starts through its launcher. */
export function setSpawner(s: Spawner): void {
  spawner = s;
}
