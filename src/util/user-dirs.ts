// Where the engine keeps things for whom: the host's root uses the system directories
// (/var/lib/leopard, /run/leopard-engine); anyone else (rootless: an effective uid other than 0)
// uses the XDG base directories, as podman does: storage in $XDG_DATA_HOME/leopard (default
// ~/.local/share/leopard), the run directory in $XDG_RUNTIME_DIR/leopard-engine. LEOPARD_STORAGE
// and LEOPARD_RUN (and --storage, --run) override both. Pure: the caller passes env and rootless.
import { LeopardError } from "./errors.ts";

export const SYSTEM_STORAGE = "/var/lib/leopard";
export const SYSTEM_RUN = "/run/leopard-engine";

type Env = Readonly<Record<string, string | undefined>>;

const trim = (p: string): string => p.replace(/\/+$/, "") || "/";

export function storageDir(env: Env, rootless: boolean): string {
  if (env["LEOPARD_STORAGE"]) return env["LEOPARD_STORAGE"];
  if (!rootless) return SYSTEM_STORAGE;
  const data = env["XDG_DATA_HOME"]?.startsWith("/") ? env["XDG_DATA_HOME"] : undefined;
  if (data) return `${trim(data)}/leopard`;
  const home = env["HOME"];
  if (!home?.startsWith("/"))
    throw new LeopardError(
      "invalid-argument",
      "neither XDG_DATA_HOME nor HOME is set: a rootless leopard keeps images in $XDG_DATA_HOME/leopard (or pass --storage DIR)",
    );
  return `${trim(home)}/.local/share/leopard`;
}

export function runDir(env: Env, rootless: boolean): string {
  if (env["LEOPARD_RUN"]) return env["LEOPARD_RUN"];
  if (!rootless) return SYSTEM_RUN;
  const xdg = env["XDG_RUNTIME_DIR"];
  if (!xdg?.startsWith("/"))
    throw new LeopardError(
      "invalid-argument",
      "XDG_RUNTIME_DIR is not set: a rootless leopard keeps its run directory in $XDG_RUNTIME_DIR/leopard-engine (log in through a session that sets it, or pass --run DIR)",
    );
  return `${trim(xdg)}/leopard-engine`;
}

/** Rootless for the engine: not the host's root (an effective uid other than 0). */
export function engineRootless(): boolean {
  return (process.geteuid?.() ?? 0) !== 0;
}
