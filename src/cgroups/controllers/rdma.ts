// rdma: per-device HCA handle and object limits (rdma.max, the same on v1 and v2).
import { writeCg } from "../files.ts";
import type { RdmaLimit } from "../resources.ts";

/** "mlx4_0 hca_handle=2 hca_object=2000"; a limit left out stays as it is. */
export function rdmaLine(device: string, l: RdmaLimit): string | undefined {
  const parts: string[] = [];
  if (l.hcaHandles !== undefined) parts.push(`hca_handle=${l.hcaHandles}`);
  if (l.hcaObjects !== undefined) parts.push(`hca_object=${l.hcaObjects}`);
  return parts.length === 0 ? undefined : `${device} ${parts.join(" ")}`;
}

export function setRdma(dir: string, limits: Readonly<Record<string, RdmaLimit>>): void {
  for (const [dev, l] of Object.entries(limits)) {
    const line = rdmaLine(dev, l);
    if (line !== undefined) writeCg(dir, "rdma.max", line);
  }
}
