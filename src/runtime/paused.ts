// Whether a container's cgroup is frozen, read straight from the freezer file so that `state`
// and `list` (hot paths) need not load the whole cgroup manager.
import { hostLayout } from "../cgroups/layout.ts";
import { readText } from "../sys/io.ts";

export function isFrozen(paths: Readonly<Record<string, string>> | undefined): boolean {
  if (paths === undefined) return false;
  const layout = hostLayout();
  try {
    const v1 = layout.v1.get("freezer");
    const p1 = paths["freezer"];
    if (v1 !== undefined && p1 !== undefined) return readText(`${v1}${p1}/freezer.state`).trim() === "FROZEN";
    const p2 = paths[""];
    if (layout.unified !== undefined && p2 !== undefined) {
      return /^frozen 1$/m.test(readText(`${layout.unified}${p2}/cgroup.events`));
    }
  } catch {
    // no freezer state to read (the cgroup is gone): not paused
  }
  return false;
}
