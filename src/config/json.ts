// config.json as written: the OCI runtime-spec (1.2) shape with its optional fields optional.
// This is what `defaultSpec` builds and `leopard-oci spec` writes. Nothing read from disk is
// trusted to have this shape: `validateSpec` takes `unknown` and returns a `Spec`.

export interface IdMappingJson {
  containerID: number;
  hostID: number;
  size: number;
}

export interface UserJson {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
  username?: string;
}

export interface CapabilitiesJson {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export interface RlimitJson {
  type: string;
  hard: number;
  soft: number;
}

export interface ProcessJson {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user: UserJson;
  args?: string[];
  commandLine?: string;
  env?: string[];
  cwd: string;
  capabilities?: CapabilitiesJson;
  rlimits?: RlimitJson[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
  ioPriority?: { class: string; priority: number };
  scheduler?: {
    policy: string;
    nice?: number;
    priority?: number;
    flags?: string[];
    runtime?: number;
    deadline?: number;
    period?: number;
  };
  execCPUAffinity?: { initial?: string; final?: string };
}

export interface MountJson {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
  uidMappings?: IdMappingJson[];
  gidMappings?: IdMappingJson[];
}

export interface HookJson {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export interface HooksJson {
  prestart?: HookJson[];
  createRuntime?: HookJson[];
  createContainer?: HookJson[];
  startContainer?: HookJson[];
  poststart?: HookJson[];
  poststop?: HookJson[];
}

export interface DeviceJson {
  type: string;
  path: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface DeviceRuleJson {
  allow: boolean;
  type?: string;
  major?: number;
  minor?: number;
  access?: string;
}

export interface SeccompJson {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: {
    names: string[];
    action: string;
    errnoRet?: number;
    args?: { index: number; value: number; valueTwo?: number; op: string }[];
  }[];
}

export interface LinuxJson {
  uidMappings?: IdMappingJson[];
  gidMappings?: IdMappingJson[];
  timeOffsets?: Record<string, { secs?: number; nanosecs?: number }>;
  devices?: DeviceJson[];
  netDevices?: Record<string, { name?: string }>;
  cgroupsPath?: string;
  resources?: { devices?: DeviceRuleJson[]; [controller: string]: unknown };
  namespaces?: { type: string; path?: string }[];
  rootfsPropagation?: string;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
  sysctl?: Record<string, string>;
  seccomp?: SeccompJson;
  personality?: { domain: string; flags?: string[] };
  intelRdt?: {
    closID?: string;
    l3CacheSchema?: string;
    memBwSchema?: string;
    enableCMT?: boolean;
    enableMBM?: boolean;
  };
}

/** Key order follows runc's Go structs, so JSON.stringify(x, null, "\t") reads like `runc spec`. */
export interface ConfigJson {
  ociVersion: string;
  process?: ProcessJson;
  root?: { path: string; readonly?: boolean };
  hostname?: string;
  domainname?: string;
  mounts?: MountJson[];
  hooks?: HooksJson;
  annotations?: Record<string, string>;
  linux?: LinuxJson;
}
