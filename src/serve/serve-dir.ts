// Where the launcher looks for a server's socket, and where `serve` binds one, when
// LEOPARD_SERVE_DIR does not say: the host's root (uid 0 in the initial user namespace) uses
// /run/leopard-serve (the system units' sockets); anyone else $XDG_RUNTIME_DIR/leopard-serve (the
// user units': `systemctl --user` sockets live in %t, which is $XDG_RUNTIME_DIR). A caller in a
// user namespace other than the initial one (rootless podman runs its runtime in the namespace its
// pause process keeps) gets a directory of that namespace's own, userns-<inode> inside it: a server
// serves only callers in its own namespaces, so the user's server outside would only decline them,
// and one in that namespace must not be found by callers outside it.
// native/launch.c follows the same rule (serve_dir, with these names and numbers generated into
// launch-verbs.h); test/serve/serve-dir.test.ts checks they agree.

/** The initial user namespace's inode number (the kernel's PROC_USER_INIT_INO). */
export const INITIAL_USERNS_INO = 0xeffffffd;
/** The host's root's directory; a user's under $XDG_RUNTIME_DIR; a namespace's inside that. */
export const SYSTEM_SERVE_DIR = "/run/leopard-serve";
export const USER_SERVE_DIR = "leopard-serve";
export const USERNS_DIR_PREFIX = "userns-";

/** The facts the directory is chosen from. */
export interface ServeDirFacts {
  env: Readonly<Record<string, string | undefined>>;
  euid: number;
  /** The inode of /proc/self/ns/user (0 when it cannot be read). */
  usernsIno: number;
}

/** The socket directory, or undefined when there is none by default (a user without XDG_RUNTIME_DIR). */
export function defaultServeDir(f: ServeDirFacts): string | undefined {
  const set = f.env["LEOPARD_SERVE_DIR"];
  if (set) return set;
  const initial = f.usernsIno === INITIAL_USERNS_INO;
  if (f.euid === 0 && initial) return SYSTEM_SERVE_DIR;
  const xdg = f.env["XDG_RUNTIME_DIR"];
  if (!xdg?.startsWith("/")) return undefined;
  const base = `${xdg.replace(/\/+$/, "")}/${USER_SERVE_DIR}`;
  return initial ? base : `${base}/${USERNS_DIR_PREFIX}${f.usernsIno}`;
}
