// The resource flags of `update`, apart from their parser so the CLI can list them cheaply.
export const UPDATE_FLAGS = [
  "blkio-weight",
  "cpu-period",
  "cpu-quota",
  "cpu-burst",
  "cpu-share",
  "cpu-rt-period",
  "cpu-rt-runtime",
  "cpu-idle",
  "cpuset-cpus",
  "cpuset-mems",
  "kernel-memory",
  "kernel-memory-tcp",
  "memory",
  "memory-reservation",
  "memory-swap",
  "pids-limit",
] as const;
