// Readers for /proc and /sys: process start times, mount tables, kernel facts.
import { readText } from "./io.ts";

export { ownStartTime, processStartTime, processState } from "./procstat.ts";

export interface MountInfo {
  mountPoint: string;
  fstype: string;
  source: string;
  superOptions: string;
  mountOptions: string;
  /** The optional fields: "shared:N", "master:N", "propagate_from:N", "unbindable" (space-separated). */
  optional: string;
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
      optional: l.slice(6).join(" "),
      fstype: r[0] ?? "",
      source: unescapeOctal(r[1] ?? ""),
      superOptions: r[2] ?? "",
    });
  }
  return out;
}

/**
 * The mount a path lies on: the last (topmost) entry whose mount point is the path or one of its
 * parent directories, the longest such. `path` must be absolute and free of symlinks.
 */
export function mountOf(mounts: readonly MountInfo[], path: string): MountInfo | undefined {
  let best: MountInfo | undefined;
  for (const m of mounts) {
    const p = m.mountPoint;
    const under = p === "/" || path === p || path.startsWith(`${p}/`);
    if (under && (best === undefined || p.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

export function mountInfo(pid: number | "self" = "self"): MountInfo[] {
  return parseMountInfo(readText(`/proc/${pid}/mountinfo`));
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
    return Number.parseInt(readText("/proc/sys/kernel/cap_last_cap").trim(), 10);
  } catch {
    return 40;
  }
}
