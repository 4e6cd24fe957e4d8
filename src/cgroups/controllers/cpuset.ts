// cpuset: cpus and mems. A new v1 cpuset cgroup starts with both empty, and a process cannot
// join it until they are set, so every level leopard makes gets its parent's values first.
import { readCgOpt, writeCg } from "../files.ts";
import type { CpuResources } from "../resources.ts";

/** mkdir hook for v1: copy cpuset.cpus and cpuset.mems from the parent when empty. */
export function inheritCpusetV1(dir: string, parent: string): void {
  for (const f of ["cpuset.cpus", "cpuset.mems"]) {
    if ((readCgOpt(dir, f) ?? "") !== "") continue;
    const v = readCgOpt(parent, f) ?? "";
    if (v !== "") writeCg(dir, f, v);
  }
}

/** The same files on v1 and v2. */
export function setCpuset(dir: string, c: CpuResources): void {
  if (c.cpus !== undefined && c.cpus !== "") writeCg(dir, "cpuset.cpus", c.cpus);
  if (c.mems !== undefined && c.mems !== "") writeCg(dir, "cpuset.mems", c.mems);
}
