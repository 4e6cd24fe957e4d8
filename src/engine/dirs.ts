// Where the engine keeps things: images, container directories (root filesystem, config.json,
// logs, /etc files), volumes and the database under the storage root (default /var/lib/leopard,
// $LEOPARD_STORAGE or --storage); the runtime's state, conmon's exit files and attach sockets
// and pinned network namespaces under the run directory (default /run/leopard-engine,
// $LEOPARD_RUN or --run), which a reboot empties.
import { mkdirSync } from "node:fs";
import { LeopardError } from "../util/errors.ts";
import { engineRootless, runDir, SYSTEM_RUN } from "../util/user-dirs.ts";

export const DEFAULT_RUN = SYSTEM_RUN;

export interface EngineDirs {
  storage: string;
  run: string;
}

/** $LEOPARD_RUN, else /run/leopard-engine for root and $XDG_RUNTIME_DIR/leopard-engine for a user. */
export function defaultRunDir(): string {
  return runDir(process.env, engineRootless());
}

export const ociRoot = (d: EngineDirs): string => `${d.run}/oci`;
export const exitDir = (d: EngineDirs): string => `${d.run}/exits`;
export const socketDir = (d: EngineDirs): string => `${d.run}/socket`;
export const containerDir = (d: EngineDirs, id: string): string => `${d.storage}/containers/${id}`;
export const volumeDir = (d: EngineDirs, name: string): string => `${d.storage}/volumes/${name}`;

export function makeDirs(d: EngineDirs): void {
  const make = (p: string, what: string) => {
    try {
      mkdirSync(p, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new LeopardError(
        "invalid-argument",
        `cannot use the ${what} "${p}": ${(e as Error).message.split(",")[0]}${engineRootless() ? " (a rootless leopard uses $XDG_RUNTIME_DIR/leopard-engine and $XDG_DATA_HOME/leopard, the defaults)" : ""}`,
        { cause: e, path: p },
      );
    }
  };
  for (const p of [ociRoot(d), exitDir(d), socketDir(d)]) make(p, "run directory");
  make(`${d.storage}/volumes`, "storage directory");
}
