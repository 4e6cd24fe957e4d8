// For the planner's unit tests: a PlanInput with everything but the spec filled in, and host
// facts that never touch the machine.
import type { HostFacts, PlanInput, PlanSpec } from "./plan.ts";

export const TEST_HOST: HostFacts = {
  capLast: 40,
  cgroupMounts: [],
  sourceIsDir: () => true,
  hostHas: () => true,
};

export function planInput(spec: PlanSpec, over: Partial<PlanInput> = {}): PlanInput {
  return {
    spec,
    id: "c",
    rootfs: "/r",
    fifo: "/f",
    fifoFd: 4,
    mode: "detached",
    console: { kind: "none" },
    noPivot: false,
    preserveFds: 0,
    host: TEST_HOST,
    ...over,
  };
}
