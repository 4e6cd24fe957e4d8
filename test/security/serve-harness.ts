// The serve-boundary attack tests' harness: a `leopard-oci serve` or `leopard serve` of the
// test's own on a private socket directory, and the environment of a launcher that must be
// served by it (LEOPARD_SERVE=1: not being served is then an error that says why).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { until } from "../integration/harness.ts";

export const TOP = join(import.meta.dir, "../..");
export const OCI = join(TOP, "bin/leopard-oci");
export const LEOPARD = join(TOP, "bin/leopard");

export interface Server {
  /** The socket directory (LEOPARD_SERVE_DIR). */
  dir: string;
  /** The servers' pids. */
  pids: number[];
  /** A launcher's environment that must be served by this server. */
  served(extra?: Record<string, string | undefined>): Record<string, string | undefined>;
  stop(): Promise<void>;
}

type Name = "leopard-oci" | "leopard";

/**
 * Starts `<name> serve` with one worker for each name, all in one socket directory, and waits
 * until a call of each is served. (`leopard run -d` needs both: conmon calls bin/leopard-oci.)
 */
export async function startServer(
  names: Name | Name[],
  env: Record<string, string | undefined> = process.env,
): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), "leopard-serve-sec-"));
  const bin = (name: Name) => (name === "leopard" ? LEOPARD : OCI);
  const procs = [names].flat().map((name) =>
    Bun.spawn([bin(name), "serve", "--socket", join(dir, `${name}.sock`), "--workers", "1"], {
      env,
      stdout: "ignore",
      stderr: "inherit",
    }),
  );
  const served = (extra: Record<string, string | undefined> = {}) => ({
    ...env,
    LEOPARD_SERVE_DIR: dir,
    LEOPARD_SERVE: "1",
    // A call may wait for a worker that is still starting (all others busy): not a fallback.
    LEOPARD_SERVE_WAIT_MS: "30000",
    ...extra,
  });
  const stop = async () => {
    for (const p of procs) p.kill("SIGTERM");
    await Promise.all(procs.map((p) => p.exited));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const name of [names].flat())
      await until(
        () =>
          Bun.spawnSync([bin(name), name === "leopard" ? "version" : "--version"], {
            env: served(),
            stdout: "ignore",
            stderr: "ignore",
          }).exitCode === 0,
        30_000,
        `a served call of ${name}`,
      );
  } catch (e) {
    await stop();
    throw e;
  }
  return { dir, pids: procs.map((p) => p.pid), served, stop };
}
