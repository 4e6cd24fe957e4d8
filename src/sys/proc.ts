// Readers for /proc and /sys: process start times, mount tables, kernel facts.
import { readFileSync } from "node:fs";

/** The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat); undefined if gone. */
export function processStartTime(pid: number): string | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // comm (field 2) may contain spaces and parentheses: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); field 22 is rest[19].
  return rest[19];
}

/** The one-letter state of a process (R, S, D, Z, T, …); undefined if gone. */
export function processState(pid: number): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    return text.slice(text.lastIndexOf(")") + 2, text.lastIndexOf(")") + 3);
  } catch {
    return undefined;
  }
}

export interface MountInfo {
  mountPoint: string;
  fstype: string;
  source: string;
  superOptions: string;
  mountOptions: string;
}

function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    const [left, right] = line.split(" - ");
    if (left === undefined || right === undefined) continue;
    const l = left.split(" ");
    const r = right.split(" ");
    out.push({
      mountPoint: unescapeOctal(l[4] ?? ""),
      mountOptions: l[5] ?? "",
      fstype: r[0] ?? "",
      source: unescapeOctal(r[1] ?? ""),
      superOptions: r[2] ?? "",
    });
  }
  return out;
}

export function mountInfo(pid: number | "self" = "self"): MountInfo[] {
  return parseMountInfo(readFileSync(`/proc/${pid}/mountinfo`, "utf8"));
}

/** The cgroup hierarchies under /sys/fs/cgroup, named by their directory there ("" for a v2 root). */
export function cgroupHierarchies(
  mounts: readonly MountInfo[],
): { name: string; fstype: "cgroup" | "cgroup2"; options: string }[] {
  const out: { name: string; fstype: "cgroup" | "cgroup2"; options: string }[] = [];
  for (const m of mounts) {
    if (m.fstype !== "cgroup" && m.fstype !== "cgroup2") continue;
    if (m.mountPoint !== "/sys/fs/cgroup" && !m.mountPoint.startsWith("/sys/fs/cgroup/")) continue;
    const name = m.mountPoint.slice("/sys/fs/cgroup/".length);
    const options =
      m.fstype === "cgroup2"
        ? ""
        : m.superOptions
            .split(",")
            .filter((o) => o !== "rw" && o !== "ro")
            .join(",");
    out.push({ name, fstype: m.fstype, options });
  }
  return out;
}

export function capLastCap(): number {
  try {
    return Number.parseInt(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8").trim(), 10);
  } catch {
    return 40;
  }
}
