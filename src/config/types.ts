// The trusted form of an OCI runtime-spec (1.2) config.json, for Linux.
//
// A `Spec` is only produced by `validateSpec`: every field is checked, defaults are filled in
// (empty lists, `false`, zero), relative paths are resolved against the bundle, and fields
// that stay optional are `undefined` when config.json leaves them out. Code that holds a
// `Spec` never re-checks it. The JSON as written is `ConfigJson` in ./json.ts.
import type { RlimitType } from "./rlimits.ts";

export type { RlimitType } from "./rlimits.ts";

declare const trusted: unique symbol;

export const NAMESPACE_TYPES = ["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"] as const;
export type NamespaceType = (typeof NAMESPACE_TYPES)[number];

export const DEVICE_TYPES = ["c", "b", "u", "p"] as const;
/** c: character, b: block, u: unbuffered character (the same as c), p: FIFO. */
export type DeviceType = (typeof DEVICE_TYPES)[number];

export const DEVICE_RULE_TYPES = ["a", "c", "b"] as const;
/** a: all devices, c: character, b: block. */
export type DeviceRuleType = (typeof DEVICE_RULE_TYPES)[number];

export const ROOTFS_PROPAGATIONS = [
  "private",
  "rprivate",
  "slave",
  "rslave",
  "shared",
  "rshared",
  "unbindable",
  "runbindable",
] as const;
export type RootfsPropagation = (typeof ROOTFS_PROPAGATIONS)[number];

export const IO_PRIORITY_CLASSES = ["IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"] as const;
export type IoPriorityClass = (typeof IO_PRIORITY_CLASSES)[number];

export const SCHEDULER_POLICIES = [
  "SCHED_OTHER",
  "SCHED_FIFO",
  "SCHED_RR",
  "SCHED_BATCH",
  "SCHED_ISO",
  "SCHED_IDLE",
  "SCHED_DEADLINE",
] as const;
export type SchedulerPolicy = (typeof SCHEDULER_POLICIES)[number];

export const SCHEDULER_FLAGS = [
  "SCHED_FLAG_RESET_ON_FORK",
  "SCHED_FLAG_RECLAIM",
  "SCHED_FLAG_DL_OVERRUN",
  "SCHED_FLAG_KEEP_POLICY",
  "SCHED_FLAG_KEEP_PARAMS",
  "SCHED_FLAG_UTIL_CLAMP_MIN",
  "SCHED_FLAG_UTIL_CLAMP_MAX",
] as const;
export type SchedulerFlag = (typeof SCHEDULER_FLAGS)[number];

export const PERSONALITY_DOMAINS = ["LINUX", "LINUX32"] as const;
export type PersonalityDomain = (typeof PERSONALITY_DOMAINS)[number];

export const HOOK_NAMES = [
  "prestart",
  "createRuntime",
  "createContainer",
  "startContainer",
  "poststart",
  "poststop",
] as const;
export type HookName = (typeof HOOK_NAMES)[number];

export const SECCOMP_ACTIONS = [
  "SCMP_ACT_KILL",
  "SCMP_ACT_KILL_PROCESS",
  "SCMP_ACT_KILL_THREAD",
  "SCMP_ACT_TRAP",
  "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE",
  "SCMP_ACT_ALLOW",
  "SCMP_ACT_LOG",
  "SCMP_ACT_NOTIFY",
] as const;
export type SeccompAction = (typeof SECCOMP_ACTIONS)[number];

export const SECCOMP_OPERATORS = [
  "SCMP_CMP_NE",
  "SCMP_CMP_LT",
  "SCMP_CMP_LE",
  "SCMP_CMP_EQ",
  "SCMP_CMP_GE",
  "SCMP_CMP_GT",
  "SCMP_CMP_MASKED_EQ",
] as const;
export type SeccompOperator = (typeof SECCOMP_OPERATORS)[number];

export const SECCOMP_ARCHES = [
  "SCMP_ARCH_X86",
  "SCMP_ARCH_X86_64",
  "SCMP_ARCH_X32",
  "SCMP_ARCH_ARM",
  "SCMP_ARCH_AARCH64",
  "SCMP_ARCH_MIPS",
  "SCMP_ARCH_MIPS64",
  "SCMP_ARCH_MIPS64N32",
  "SCMP_ARCH_MIPSEL",
  "SCMP_ARCH_MIPSEL64",
  "SCMP_ARCH_MIPSEL64N32",
  "SCMP_ARCH_PPC",
  "SCMP_ARCH_PPC64",
  "SCMP_ARCH_PPC64LE",
  "SCMP_ARCH_S390",
  "SCMP_ARCH_S390X",
  "SCMP_ARCH_PARISC",
  "SCMP_ARCH_PARISC64",
  "SCMP_ARCH_RISCV64",
  "SCMP_ARCH_LOONGARCH64",
] as const;
export type SeccompArch = (typeof SECCOMP_ARCHES)[number];

export const SECCOMP_FLAGS = [
  "SECCOMP_FILTER_FLAG_TSYNC",
  "SECCOMP_FILTER_FLAG_LOG",
  "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
  "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
] as const;
export type SeccompFlag = (typeof SECCOMP_FLAGS)[number];

/** One line of a uid_map or gid_map: `size` ids from `containerID` map to `hostID` on. */
export interface IdMapping {
  readonly containerID: number;
  readonly hostID: number;
  readonly size: number;
}

export interface SpecUser {
  readonly uid: number;
  readonly gid: number;
  readonly umask: number | undefined;
  readonly additionalGids: readonly number[];
  /** Windows only; kept, never used on Linux. */
  readonly username: string | undefined;
}

/** Capability names, each one of `CAPABILITIES`. A set config.json leaves out is empty. */
export interface SpecCapabilities {
  readonly bounding: readonly string[];
  readonly effective: readonly string[];
  readonly inheritable: readonly string[];
  readonly permitted: readonly string[];
  readonly ambient: readonly string[];
}

/** A resource limit; `RLIM_INFINITY` (2^64-1) means none. Unique by type, soft <= hard. */
export interface Rlimit {
  readonly type: RlimitType;
  readonly soft: bigint;
  readonly hard: bigint;
}

export interface ConsoleSize {
  readonly height: number;
  readonly width: number;
}

export interface IoPriority {
  readonly class: IoPriorityClass;
  readonly priority: number;
}

/** sched_setattr(2) settings; fields config.json leaves out are 0 / empty. */
export interface SpecScheduler {
  readonly policy: SchedulerPolicy;
  readonly nice: number;
  readonly priority: number;
  readonly flags: readonly SchedulerFlag[];
  readonly runtime: number;
  readonly deadline: number;
  readonly period: number;
}

/** CPU lists ("0-3,7") for the process before and after execve. */
export interface ExecCpuAffinity {
  readonly initial: string | undefined;
  readonly final: string | undefined;
}

export interface SpecProcess {
  readonly terminal: boolean;
  readonly consoleSize: ConsoleSize | undefined;
  readonly user: SpecUser;
  /** At least one entry; args[0] is looked up like execvp(3) does. */
  readonly args: readonly string[];
  /** Windows only; kept, never used on Linux. */
  readonly commandLine: string | undefined;
  /** Each entry `KEY=value` with a non-empty KEY. */
  readonly env: readonly string[];
  /** Absolute, inside the container. */
  readonly cwd: string;
  readonly capabilities: SpecCapabilities;
  readonly rlimits: readonly Rlimit[];
  readonly noNewPrivileges: boolean;
  readonly apparmorProfile: string | undefined;
  readonly oomScoreAdj: number | undefined;
  readonly selinuxLabel: string | undefined;
  readonly ioPriority: IoPriority | undefined;
  readonly scheduler: SpecScheduler | undefined;
  readonly execCPUAffinity: ExecCpuAffinity | undefined;
}

export interface SpecRoot {
  /** Absolute: a relative root.path is resolved against the bundle. Not checked to exist. */
  readonly path: string;
  readonly readonly: boolean;
}

export interface SpecMount {
  /** Absolute, inside the container; as written (not cleaned). */
  readonly destination: string;
  /** For a bind mount ("bind" or "rbind" in options) a relative source is resolved against the bundle. */
  readonly source: string | undefined;
  readonly type: string | undefined;
  readonly options: readonly string[];
  /** An id-mapped mount's maps; empty for an ordinary mount. Set together, only on bind mounts. */
  readonly uidMappings: readonly IdMapping[];
  readonly gidMappings: readonly IdMapping[];
}

export interface SpecHook {
  /** Absolute, in the runtime's mount namespace. */
  readonly path: string;
  readonly args: readonly string[];
  readonly env: readonly string[];
  /** Seconds, > 0. */
  readonly timeout: number | undefined;
}

export type SpecHooks = { readonly [K in HookName]: readonly SpecHook[] };

export interface SpecNamespace {
  readonly type: NamespaceType;
  /** Join the namespace at this absolute path; undefined creates a new one. */
  readonly path: string | undefined;
}

export interface TimeOffset {
  readonly secs: number;
  /** 0 <= nanosecs < 1e9 */
  readonly nanosecs: number;
}

/** Offsets for a new time namespace; a clock config.json leaves out is absent. */
export interface TimeOffsets {
  readonly monotonic?: TimeOffset;
  readonly boottime?: TimeOffset;
}

export interface SpecDevice {
  readonly type: DeviceType;
  /** Absolute, inside the container; unique. */
  readonly path: string;
  /** 0 for a FIFO ("p") when config.json leaves them out. */
  readonly major: number;
  readonly minor: number;
  /** Permission bits (file type bits are stripped); undefined means the runtime's default (0666). */
  readonly fileMode: number | undefined;
  readonly uid: number | undefined;
  readonly gid: number | undefined;
}

/** One entry of the device cgroup allow list; undefined major/minor match any. */
export interface DeviceRule {
  readonly allow: boolean;
  readonly type: DeviceRuleType;
  readonly major: number | undefined;
  readonly minor: number | undefined;
  /** A non-empty combination of "r", "w" and "m". */
  readonly access: string;
}

/**
 * linux.resources. Only the device rules are typed for now; every other key (memory, cpu,
 * pids, blockIO, hugepageLimits, network, rdma, unified, …) is passed on as written, for the
 * cgroup manager to check.
 */
export interface SpecResources {
  readonly devices: readonly DeviceRule[];
  readonly other: Readonly<Record<string, unknown>>;
}

export interface SeccompArg {
  /** 0..5 */
  readonly index: number;
  readonly value: bigint;
  readonly valueTwo: bigint;
  readonly op: SeccompOperator;
}

export interface SeccompRule {
  /** At least one syscall name. */
  readonly names: readonly string[];
  readonly action: SeccompAction;
  /** Only with SCMP_ACT_ERRNO or SCMP_ACT_TRACE; undefined means EPERM. */
  readonly errnoRet: number | undefined;
  readonly args: readonly SeccompArg[];
}

export interface SpecSeccomp {
  readonly defaultAction: SeccompAction;
  readonly defaultErrnoRet: number | undefined;
  readonly architectures: readonly SeccompArch[];
  readonly flags: readonly SeccompFlag[];
  /** Set whenever an action is SCMP_ACT_NOTIFY. */
  readonly listenerPath: string | undefined;
  readonly listenerMetadata: string | undefined;
  readonly syscalls: readonly SeccompRule[];
}

export interface SpecPersonality {
  readonly domain: PersonalityDomain;
  readonly flags: readonly string[];
}

export interface SpecIntelRdt {
  readonly closID: string | undefined;
  readonly l3CacheSchema: string | undefined;
  readonly memBwSchema: string | undefined;
  readonly enableCMT: boolean;
  readonly enableMBM: boolean;
}

/** A host network device to move into the container's network namespace, renamed to `name`. */
export interface NetDevice {
  readonly name: string | undefined;
}

export interface SpecLinux {
  /** Unique by type. */
  readonly namespaces: readonly SpecNamespace[];
  /** Non-empty exactly when a user namespace is created (or given alongside a joined one). */
  readonly uidMappings: readonly IdMapping[];
  readonly gidMappings: readonly IdMapping[];
  readonly timeOffsets: TimeOffsets | undefined;
  readonly devices: readonly SpecDevice[];
  readonly netDevices: Readonly<Record<string, NetDevice>>;
  readonly cgroupsPath: string | undefined;
  readonly resources: SpecResources | undefined;
  readonly rootfsPropagation: RootfsPropagation | undefined;
  /** Absolute paths inside the container. */
  readonly maskedPaths: readonly string[];
  readonly readonlyPaths: readonly string[];
  readonly mountLabel: string | undefined;
  readonly sysctl: Readonly<Record<string, string>>;
  readonly seccomp: SpecSeccomp | undefined;
  readonly personality: SpecPersonality | undefined;
  readonly intelRdt: SpecIntelRdt | undefined;
}

/** The fields of a validated config.json; see `Spec`. */
export interface SpecFields {
  readonly ociVersion: string;
  /** The bundle directory, absolute. */
  readonly bundle: string;
  readonly root: SpecRoot;
  readonly process: SpecProcess;
  /** Needs a uts namespace (new or joined). */
  readonly hostname: string | undefined;
  readonly domainname: string | undefined;
  readonly mounts: readonly SpecMount[];
  readonly hooks: SpecHooks;
  readonly annotations: Readonly<Record<string, string>>;
  readonly linux: SpecLinux;
}

/** A config.json that passed `validateSpec`. The brand keeps unchecked objects out. */
export type Spec = SpecFields & { readonly [trusted]: true };
