// Whether the runtime runs rootless, and where its state lives then: runc's rules. Rootless is an
// effective uid other than 0 (a user calling leopard-oci directly), or uid 0 inside a user
// namespace that is not the host's (rootless podman runs the runtime inside the namespace it made
// with newuidmap). The decisions are pure functions of those facts; `callerIdentity` reads them.
import { readFileSync } from "../sys/fs-sync.ts";
import { LeopardError } from "../util/errors.ts";

/** The facts about the caller rootless mode is decided from. */
export interface CallerIdentity {
  euid: number;
  egid: number;
  /** The caller is in a user namespace other than the host's (its uid_map is not the identity of all ids). */
  inUserNamespace: boolean;
}

/** Whether a /proc/self/uid_map text is the initial user namespace's ("0 0 4294967295"). */
export function isInitialUidMap(text: string): boolean {
  const lines = text.trim().split("\n");
  if (lines.length !== 1) return false;
  const f = (lines[0] ?? "").trim().split(/\s+/);
  return f[0] === "0" && f[1] === "0" && f[2] === "4294967295";
}

export function callerIdentity(): CallerIdentity {
  let map = "0 0 4294967295";
  try {
    map = readFileSync("/proc/self/uid_map", "utf8");
  } catch {
    // No /proc: taken as the host's namespace (the root-only paths then report their own errors).
  }
  return {
    euid: process.geteuid?.() ?? 0,
    egid: process.getegid?.() ?? 0,
    inUserNamespace: !isInitialUidMap(map),
  };
}

/**
 * --rootless true|false|auto (runc's flag): auto (the default) is rootless for an effective uid
 * other than 0, or for uid 0 inside a user namespace.
 */
export function rootlessMode(flag: string | undefined, who: CallerIdentity): boolean {
  switch (checkRootlessFlag(flag)) {
    case "true":
      return true;
    case "false":
      return false;
    case "auto":
      return who.euid !== 0 || who.inUserNamespace;
  }
}

/** --rootless's value (auto when not given), or an error naming a bad one. */
export function checkRootlessFlag(flag: string | undefined): "true" | "false" | "auto" {
  const f = flag ?? "auto";
  if (f === "true" || f === "false" || f === "auto") return f;
  throw new LeopardError("invalid-argument", `--rootless "${flag}" must be true, false or auto`);
}

export const SYSTEM_STATE_ROOT = "/run/leopard";

/**
 * The default --root: /run/leopard for the host's root; $XDG_RUNTIME_DIR/leopard for a user
 * (runc: $XDG_RUNTIME_DIR/runc), and for uid 0 in a user namespace unless USER is root (rootless
 * podman sets XDG_RUNTIME_DIR to the user's; a root shell in some other namespace keeps /run).
 */
export function defaultStateRoot(
  env: Readonly<Record<string, string | undefined>>,
  who: CallerIdentity,
): string {
  const xdg = env["XDG_RUNTIME_DIR"];
  if (!xdg) {
    if (who.euid !== 0)
      throw new LeopardError(
        "invalid-argument",
        "XDG_RUNTIME_DIR is not set: a rootless leopard-oci keeps its state under $XDG_RUNTIME_DIR/leopard (log in through a session that sets it, or pass --root DIR)",
      );
    return SYSTEM_STATE_ROOT;
  }
  if (who.euid !== 0) return `${xdg.replace(/\/+$/, "")}/leopard`;
  if (!who.inUserNamespace) return SYSTEM_STATE_ROOT;
  return env["USER"] === "root" ? SYSTEM_STATE_ROOT : `${xdg.replace(/\/+$/, "")}/leopard`;
}
