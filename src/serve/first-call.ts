// What serves a socket-activated server's first call (supervisor.ts, worker.ts serveWaiting):
// each CLI entry point registers its main() and its worker rules here before it runs, so `serve`
// can serve the call that started it without importing the CLI (which imports `serve`).

/** A CLI's main() and the rules its workers serve by (worker.ts). */
export interface WorkOptions {
  name: string;
  stamp: string;
  /** The CLI's main(). */
  run: (argv: string[]) => Promise<number>;
  /** Whether a worker may serve again after this command line (no terminal relay, no stream). */
  reusable: (argv: readonly string[]) => boolean;
  /** Why this command line must run in the caller's own process (undefined: it may be served). */
  declines?: (argv: readonly string[]) => string | undefined;
  /** Warm-up run once before the first caller, while fds 0-2 are /dev/null (threads start here). */
  prepare?: () => Promise<void>;
  /**
   * Decline a caller whose open-file hard limit is below ours: taking it would lower ours for
   * good (raising a hard limit needs CAP_SYS_RESOURCE). A worker exits after such a call instead;
   * the server's own first call (serveWaiting) cannot, it becomes the keeper next.
   */
  keepHardLimit?: boolean;
}

let rules: ((name: string, stamp: string) => WorkOptions) | undefined;

/** Set by a CLI's entry point before its main() runs. */
export function firstCallBy(f: (name: string, stamp: string) => WorkOptions): void {
  rules = f;
}

/** The worker options for the first call, or undefined (no CLI registered: not served so). */
export function firstCallRules(name: string, stamp: string): WorkOptions | undefined {
  return rules?.(name, stamp);
}
