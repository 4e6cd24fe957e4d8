// net_cls and net_prio (v1 only): the class id packets are tagged with, priorities per interface.
import { unsupported, writeCg } from "../files.ts";
import type { NetworkResources } from "../resources.ts";

export function setNetClsV1(dir: string, n: NetworkResources): void {
  if (n.classID !== undefined) writeCg(dir, "net_cls.classid", String(n.classID));
}

export function setNetPrioV1(dir: string, n: NetworkResources): void {
  // One interface per write.
  for (const p of n.priorities) writeCg(dir, "net_prio.ifpriomap", `${p.name} ${p.priority}`);
}

/** cgroup v2 has no network controllers (eBPF programs took their place). */
export function rejectNetworkV2(n: NetworkResources): void {
  if (n.classID !== undefined || n.priorities.length > 0) {
    throw unsupported("linux.resources.network (classID, priorities) is not supported on cgroup v2");
  }
}
