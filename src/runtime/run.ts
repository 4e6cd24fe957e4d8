// run: create + start, then stay in the foreground until the container exits and return its
// status. Signals are forwarded to init; a terminal is relayed through a pty (./terminal.ts).
import { writeAll } from "../sys/io.ts";
import { mark } from "../sys/trace.ts";
import { describe } from "../util/errors.ts";
import { type CreateOptions, create } from "./create.ts";
import { remove, start } from "./lifecycle.ts";
import { copyWindowSize, type RelayOptions, waitForeground } from "./terminal.ts";

export interface RunOptions extends Omit<CreateOptions, "mode"> {
  detach?: boolean | undefined;
  keep?: boolean | undefined;
  /** A terminal's relay (the engine's `-t` without `-i`, its log); default: stdin relayed. */
  relay?: RelayOptions | undefined;
}

/** Returns the exit status `leopard-oci run` should exit with. */
export async function run(opts: RunOptions): Promise<number> {
  if (opts.detach) {
    await create({ ...opts, mode: "detached" });
    try {
      start(opts.state, opts.id);
    } catch (e) {
      await remove(opts.state, opts.id, true);
      throw e;
    }
    return 0;
  }
  const { pid, session, pty, plan } = await create({ ...opts, mode: "foreground" });
  try {
    // The window size is set before the process runs, so its first look at the terminal is right.
    if (pty !== undefined) copyWindowSize(pty);
    start(opts.state, opts.id);
    mark("run: started");
    // Until exec, the helper holds its end of the sync socket; EOF means execve succeeded. A
    // failure after start is reported here; the helper's exit status says the rest.
    session.timings.restart();
    try {
      await session.untilExec({});
      session.timings.phase("start, until the process's execve");
      opts.explain?.(session.timings.table(plan.steps));
    } catch (e) {
      writeAll(2, `leopard-oci: run ${opts.id}: ${describe(e)}\n`);
    }
    const code = await waitForeground(pid, session.helper, pty, opts.relay);
    mark("run: container exited");
    return code;
  } finally {
    session[Symbol.dispose]();
    if (!opts.keep)
      await remove(opts.state, opts.id, true).catch(() => {
        // The container's status is what run reports; a leftover state dir is removed by a later delete.
        return undefined;
      });
    mark("run: removed");
  }
}
