// sync 1's work: the id maps of a new user namespace. Root (of any user namespace) writes
// /proc/PID/uid_map and gid_map itself. A user may write only a map of its own single id, and a
// gid map only after "deny" to /proc/PID/setgroups (the kernel's rule since 3.19); any other map
// (a user's subordinate ids from /etc/subuid and /etc/subgid) is written by the set-uid
// newuidmap and newgidmap from Debian's uidmap, which check those files — as runc and podman do.
import { existsSync, writeFileSync } from "../sys/fs-sync.ts";
import { hostToolEnv, SYSTEM_PATH } from "../sys/host-tool.ts";
import { describe, LeopardError } from "../util/errors.ts";

export type MapMethod = "direct" | "tool";

/** How a map text ("C H S\n" lines) can be written by a process with effective id `euid` whose own id is `own`. */
export function mapMethod(text: string, euid: number, own: number): MapMethod {
  if (euid === 0) return "direct";
  const lines = text.trim().split("\n").filter(Boolean);
  if (lines.length !== 1) return "tool";
  const [, host, size] = (lines[0] ?? "").trim().split(/\s+/).map(Number);
  return host === own && size === 1 ? "direct" : "tool";
}

/** newuidmap's arguments for a map text: the pid, then each line's three numbers. */
export function toolArgs(pid: number, text: string): string[] {
  return [String(pid), ...text.trim().split(/\s+/).filter(Boolean)];
}

function which(tool: string): string | undefined {
  for (const d of SYSTEM_PATH.split(":")) {
    const p = `${d}/${tool}`;
    if (existsSync(p)) return p;
  }
  return undefined;
}

function runTool(tool: "newuidmap" | "newgidmap", pid: number, text: string): void {
  const path = which(tool);
  const file = tool === "newuidmap" ? "/etc/subuid" : "/etc/subgid";
  if (path === undefined)
    throw new LeopardError(
      "unsupported",
      `${tool} is not installed: a rootless map of more than your own id needs it (apt-get install uidmap, and an entry for your user in ${file})`,
    );
  const r = Bun.spawnSync([path, ...toolArgs(pid, text)], {
    env: hostToolEnv(),
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  if (r.exitCode !== 0) {
    const why = r.stderr.toString().trim().split("\n").at(-1) ?? "";
    throw new LeopardError(
      "invalid-spec",
      `${tool} refused the map ${JSON.stringify(text.trim().replaceAll("\n", ", "))}: ${why} (the ids must be yours: an entry for your user in ${file}, e.g. \`usermod --add-subuids 100000-165535 --add-subgids 100000-165535 USER\`)`,
    );
  }
}

function write(pid: number, file: string, text: string): void {
  try {
    writeFileSync(`/proc/${pid}/${file}`, text);
  } catch (e) {
    throw new LeopardError("system", `write ${file} for pid ${pid}: ${describe(e)}`, { cause: e });
  }
}

/** Writes a new user namespace's maps for the process pid, as the caller may. */
export function writeIdMaps(
  pid: number,
  maps: { uid: string; gid: string },
  who: { euid: number; uid: number; gid: number } = {
    euid: process.geteuid?.() ?? 0,
    uid: process.geteuid?.() ?? 0,
    gid: process.getegid?.() ?? 0,
  },
): void {
  if (mapMethod(maps.uid, who.euid, who.uid) === "direct") write(pid, "uid_map", maps.uid);
  else runTool("newuidmap", pid, maps.uid);
  if (mapMethod(maps.gid, who.euid, who.gid) === "direct") {
    // A user writing its own gid: setgroups must be denied first, or the kernel refuses the map.
    if (who.euid !== 0) write(pid, "setgroups", "deny");
    write(pid, "gid_map", maps.gid);
  } else runTool("newgidmap", pid, maps.gid);
}
