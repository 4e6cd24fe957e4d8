// Where the engine keeps things: images, container directories (root filesystem, config.json,
// logs, /etc files), volumes and the database under the storage root (default /var/lib/leopard,
// $LEOPARD_STORAGE or --storage); the runtime's state, conmon's exit files and attach sockets
// and pinned network namespaces under the run directory (default /run/leopard-engine,
// $LEOPARD_RUN or --run), which a reboot empties.
import { mkdirSync } from "node:fs";

export const DEFAULT_RUN = "/run/leopard-engine";

export interface EngineDirs {
  storage: string;
  run: string;
}

export function defaultRunDir(): string {
  return process.env["LEOPARD_RUN"] || DEFAULT_RUN;
}

export const ociRoot = (d: EngineDirs): string => `${d.run}/oci`;
export const exitDir = (d: EngineDirs): string => `${d.run}/exits`;
export const socketDir = (d: EngineDirs): string => `${d.run}/socket`;
export const containerDir = (d: EngineDirs, id: string): string => `${d.storage}/containers/${id}`;
export const volumeDir = (d: EngineDirs, name: string): string => `${d.storage}/volumes/${name}`;

export function makeDirs(d: EngineDirs): void {
  for (const p of [ociRoot(d), exitDir(d), socketDir(d)]) mkdirSync(p, { recursive: true, mode: 0o700 });
  mkdirSync(`${d.storage}/volumes`, { recursive: true, mode: 0o700 });
}
