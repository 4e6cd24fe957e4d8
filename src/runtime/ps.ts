// `ps`: the processes of a container, as runc prints them: `--format json` is the list of host
// pids; the table form runs the host's ps(1) and keeps the header and the container's lines.
import { isAlive, type StateDir } from "../state/state.ts";
import { spawnToolSync } from "../sys/host-tool.ts";
import { LeopardError } from "../util/errors.ts";
import { containerPids } from "./kill.ts";

export function psPids(state: StateDir, id: string): number[] {
  const s = state.read(id);
  if (s.pid === 0 || !isAlive(s.pid, s.pidStartTime)) return [];
  // The cgroup holds every process of the container, as runc lists them; init first.
  if (s.cgroupPaths !== undefined) {
    const { reopenCgroup } = require("./cgroup.ts") as typeof import("./cgroup.ts");
    const pids = reopenCgroup(s.cgroupPaths)?.pids();
    if (pids !== undefined) return [s.pid, ...pids.filter((p) => p !== s.pid).sort((a, b) => a - b)];
  }
  return s.ownPidNamespace ? containerPids(s.pid) : [s.pid];
}

/** Keeps ps(1)'s header and the lines whose PID column is one of pids. */
export function filterPsOutput(output: string, pids: readonly number[]): string {
  const lines = output.split("\n");
  const header = lines[0] ?? "";
  const col = header.trim().split(/\s+/).indexOf("PID");
  if (col < 0) throw new LeopardError("invalid-argument", "ps output has no PID column");
  const want = new Set(pids);
  const kept = lines.slice(1).filter((l) => {
    const f = l.trim().split(/\s+/);
    return l.trim() !== "" && want.has(Number(f[col]));
  });
  return `${[header, ...kept].join("\n")}\n`;
}

export function psTable(state: StateDir, id: string, args: readonly string[]): string {
  const pids = psPids(state, id);
  const r = spawnToolSync(["ps", ...(args.length > 0 ? args : ["-ef"])], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0)
    throw new LeopardError(
      "system",
      `ps ${args.join(" ")}: ${r.stderr.toString().trim() || `exit status ${r.exitCode}`}`,
    );
  return filterPsOutput(r.stdout.toString(), pids);
}
