// The part of a validated spec the planner reads. The trusted Spec from src/config satisfies it.

export type NamespaceType = "pid" | "network" | "mount" | "ipc" | "uts" | "user" | "cgroup" | "time";

/** clone(2) flags for each namespace type. */
export const CLONE: Record<NamespaceType, number> = {
  mount: 0x00020000,
  uts: 0x04000000,
  ipc: 0x08000000,
  user: 0x10000000,
  pid: 0x20000000,
  network: 0x40000000,
  cgroup: 0x02000000,
  time: 0x00000080,
};

export interface IdMap {
  containerID: number;
  hostID: number;
  size: number;
}

export interface PlanMount {
  destination: string;
  type?: string | undefined;
  source?: string | undefined;
  options?: readonly string[] | undefined;
  /** An idmapped bind mount's own maps (src/plan/idmap.ts). */
  uidMappings?: readonly IdMap[] | undefined;
  gidMappings?: readonly IdMap[] | undefined;
}

export interface PlanDevice {
  type: string;
  path: string;
  major?: number | undefined;
  minor?: number | undefined;
  fileMode?: number | undefined;
  uid?: number | undefined;
  gid?: number | undefined;
}

export interface PlanSpec {
  process: {
    terminal?: boolean | undefined;
    user: {
      uid: number;
      gid: number;
      umask?: number | undefined;
      additionalGids?: readonly number[] | undefined;
    };
    args: readonly string[];
    env?: readonly string[] | undefined;
    cwd: string;
    capabilities?:
      | {
          bounding?: readonly string[] | undefined;
          effective?: readonly string[] | undefined;
          inheritable?: readonly string[] | undefined;
          permitted?: readonly string[] | undefined;
          ambient?: readonly string[] | undefined;
        }
      | undefined;
    rlimits?: readonly { type: string; soft: number | bigint; hard: number | bigint }[] | undefined;
    noNewPrivileges?: boolean | undefined;
    oomScoreAdj?: number | undefined;
    ioPriority?: { class: string; priority: number } | undefined;
    scheduler?:
      | {
          policy: string;
          nice: number;
          priority: number;
          flags: readonly string[];
          runtime: number;
          deadline: number;
          period: number;
        }
      | undefined;
  };
  root: { path: string; readonly?: boolean | undefined };
  hostname?: string | undefined;
  domainname?: string | undefined;
  mounts?: readonly PlanMount[] | undefined;
  linux?:
    | {
        namespaces?: readonly { type: NamespaceType; path?: string | undefined }[] | undefined;
        uidMappings?: readonly { containerID: number; hostID: number; size: number }[] | undefined;
        gidMappings?: readonly { containerID: number; hostID: number; size: number }[] | undefined;
        timeOffsets?:
          | Partial<
              Record<"monotonic" | "boottime", { secs?: number | undefined; nanosecs?: number | undefined }>
            >
          | undefined;
        devices?: readonly PlanDevice[] | undefined;
        rootfsPropagation?: string | undefined;
        maskedPaths?: readonly string[] | undefined;
        readonlyPaths?: readonly string[] | undefined;
        sysctl?: Readonly<Record<string, string>> | undefined;
        personality?: { domain: string; flags?: readonly string[] | undefined } | undefined;
      }
    | undefined;
}
