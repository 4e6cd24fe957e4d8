// HOME for a process whose environment has none, as runc sets it: the home directory of the
// first /etc/passwd entry with the process's uid, "/" when there is none (or no /etc/passwd).
// Pure over the file's text; the runtime reads it inside the container's root (src/runtime/home.ts).

/** The home directory of `uid` in an /etc/passwd text (undefined: the file does not exist). */
export function passwdHome(passwd: string | undefined, uid: number): string {
  for (const line of (passwd ?? "").split("\n")) {
    const f = line.trim().split(":");
    if (f.length < 6 || f[2] === "" || Number(f[2]) !== uid) continue;
    return f[5] === "" ? "/" : (f[5] ?? "/");
  }
  return "/";
}

/** `env` with HOME=home when it has no HOME or an empty one (runc checks getenv("HOME") == ""). */
export function withHome(env: readonly string[], home: string | undefined): string[] {
  if (home === undefined || env.some((e) => e.startsWith("HOME=") && e.length > 5)) return [...env];
  return [...env.filter((e) => e !== "HOME="), `HOME=${home}`];
}
