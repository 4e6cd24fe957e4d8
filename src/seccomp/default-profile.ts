// leopard's default seccomp profile: the same effect as docker's default. Everything not named
// fails with EPERM; a base set of syscalls is allowed; groups that need a capability are
// allowed only when the container holds it; clone may not create namespaces and clone3 answers
// ENOSYS (so libc falls back to clone) unless CAP_SYS_ADMIN is held; personality takes only
// the harmless domains; socket may not open AF_VSOCK.
//
// The profile is data (the groups below) and one function that resolves the conditions for a
// capability set, an architecture and a kernel version into a plain OCI seccomp section.
import {
  SECCOMP_ARCHES,
  type SeccompAction,
  type SeccompArch,
  type SeccompArg,
  type SeccompRule,
  type SpecSeccomp,
} from "../config/types.ts";

/** The capabilities a container gets by default (docker's list). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  "CAP_AUDIT_WRITE",
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_MKNOD",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_RAW",
  "CAP_SETFCAP",
  "CAP_SETGID",
  "CAP_SETPCAP",
  "CAP_SETUID",
  "CAP_SYS_CHROOT",
];

/** Syscalls every container may make. Names a kernel or libseccomp lacks are skipped at compile. */
const BASE = `
accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown chown32
clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64
clock_nanosleep clock_nanosleep_time64 close close_range connect copy_file_range creat
dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2
epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit exit_group
faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat
fchmodat2 fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork
fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64
futex futex_requeue futex_time64 futex_wait futex_waitv futex_wake futimesat
getcpu getcwd getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32
getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid getppid getpriority
getrandom getresgid getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage
getsid getsockname getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr
inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy
io_getevents io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit
io_uring_enter io_uring_register io_uring_setup ipc kill
landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr
link linkat listen listxattr llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64
madvise map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod
mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open
mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap
msgctl msgget msgrcv msgsnd msync munlock munlockall munmap
name_to_handle_at nanosleep newfstatat _newselect open openat openat2
pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll
ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6
pselect6_time64 pwrite64 pwritev pwritev2
read readahead readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg
remap_file_pages removexattr rename renameat renameat2 restart_syscall rmdir rseq
rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend
rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo
sched_getaffinity sched_getattr sched_getparam sched_get_priority_max sched_get_priority_min
sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity
sched_setattr sched_setparam sched_setscheduler sched_yield seccomp select semctl semget
semop semtimedop semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto
setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer
setpgid setpriority setregid setregid32 setresgid setresgid32 setresuid setresuid32
setreuid setreuid32 setrlimit set_robust_list setsid setsockopt set_thread_area
set_tid_address setuid setuid32 setxattr shmat shmctl shmdt shmget shutdown sigaltstack
signalfd signalfd4 sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs
statfs64 statx symlink symlinkat sync sync_file_range syncfs sysinfo
tee tgkill time timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64
timer_settime timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64
timerfd_settime timerfd_settime64 times tkill truncate truncate64
ugetrlimit umask uname unlink unlinkat utime utimensat utimensat_time64 utimes
vfork vmsplice wait4 waitid waitpid write writev`;

const words = (s: string): string[] => s.split(/\s+/).filter((w) => w !== "");

/** When a group applies. Every field present must hold; `not` inverts a whole condition. */
interface When {
  /** The container holds every one of these capabilities. */
  readonly caps?: readonly string[];
  /** The native architecture is one of these. */
  readonly arches?: readonly SeccompArch[];
  /** The running kernel is at least this version. */
  readonly minKernel?: readonly [number, number];
}

interface Group {
  readonly names: readonly string[];
  readonly action: SeccompAction;
  readonly errnoRet?: number;
  readonly args?: readonly SeccompArg[];
  readonly when?: When;
  readonly unless?: When;
}

const S390: readonly SeccompArch[] = ["SCMP_ARCH_S390", "SCMP_ARCH_S390X"];
const X86ISH: readonly SeccompArch[] = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_X86"];
/** CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET: clone may set none of them. */
export const CLONE_NAMESPACE_FLAGS = 0x7e020000n;
const AF_VSOCK = 40n;
/** personality(2) domains a container may select: LINUX, LINUX32, UNAME26, UNAME26|LINUX32, and query. */
const PERSONALITIES = [0x0n, 0x8n, 0x20000n, 0x20008n, 0xffffffffn];

const eq = (index: number, value: bigint): SeccompArg => ({ index, value, valueTwo: 0n, op: "SCMP_CMP_EQ" });
const allow = (names: string, when?: When): Group =>
  when === undefined
    ? { names: words(names), action: "SCMP_ACT_ALLOW" }
    : { names: words(names), action: "SCMP_ACT_ALLOW", when };

const GROUPS: readonly Group[] = [
  allow(BASE),
  allow("process_vm_readv process_vm_writev ptrace", { minKernel: [4, 8] }),
  {
    names: ["socket"],
    action: "SCMP_ACT_ALLOW",
    args: [{ index: 0, value: AF_VSOCK, valueTwo: 0n, op: "SCMP_CMP_NE" }],
  },
  ...PERSONALITIES.map(
    (p): Group => ({ names: ["personality"], action: "SCMP_ACT_ALLOW", args: [eq(0, p)] }),
  ),
  // Architecture-specific calls.
  allow("sync_file_range2 swapcontext", { arches: ["SCMP_ARCH_PPC64LE"] }),
  allow("arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls", {
    arches: ["SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64"],
  }),
  allow("arch_prctl", { arches: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"] }),
  allow("modify_ldt", { arches: X86ISH }),
  allow("s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr", { arches: S390 }),
  allow("riscv_flush_icache", { arches: ["SCMP_ARCH_RISCV64"] }),
  // Capability-conditional groups.
  allow("open_by_handle_at", { caps: ["CAP_DAC_READ_SEARCH"] }),
  allow(
    "bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount mount_setattr " +
      "move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns " +
      "syslog umount umount2 unshare",
    { caps: ["CAP_SYS_ADMIN"] },
  ),
  {
    names: ["clone"],
    action: "SCMP_ACT_ALLOW",
    args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0n, op: "SCMP_CMP_MASKED_EQ" }],
    unless: { caps: ["CAP_SYS_ADMIN"] },
    when: { arches: notIn(S390) },
  },
  {
    // s390 passes clone's flags second.
    names: ["clone"],
    action: "SCMP_ACT_ALLOW",
    args: [{ index: 1, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0n, op: "SCMP_CMP_MASKED_EQ" }],
    unless: { caps: ["CAP_SYS_ADMIN"] },
    when: { arches: S390 },
  },
  {
    // clone3 hides its flags in memory seccomp cannot read: ENOSYS makes libc use clone.
    names: ["clone3"],
    action: "SCMP_ACT_ERRNO",
    errnoRet: 38,
    unless: { caps: ["CAP_SYS_ADMIN"] },
  },
  allow("reboot", { caps: ["CAP_SYS_BOOT"] }),
  allow("chroot", { caps: ["CAP_SYS_CHROOT"] }),
  allow("delete_module init_module finit_module", { caps: ["CAP_SYS_MODULE"] }),
  allow("acct", { caps: ["CAP_SYS_PACCT"] }),
  allow("kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace", {
    caps: ["CAP_SYS_PTRACE"],
  }),
  allow("iopl ioperm", { caps: ["CAP_SYS_RAWIO"] }),
  allow("settimeofday stime clock_settime clock_settime64", { caps: ["CAP_SYS_TIME"] }),
  allow("vhangup", { caps: ["CAP_SYS_TTY_CONFIG"] }),
  allow("get_mempolicy mbind set_mempolicy set_mempolicy_home_node", { caps: ["CAP_SYS_NICE"] }),
  allow("syslog", { caps: ["CAP_SYSLOG"] }),
  allow("bpf", { caps: ["CAP_BPF"] }),
  allow("perf_event_open", { caps: ["CAP_PERFMON"] }),
];

function notIn(arches: readonly SeccompArch[]): SeccompArch[] {
  return SECCOMP_ARCHES.filter((a) => !arches.includes(a));
}

/** The architectures a filter covers on a native one: the ABIs its processes can use. */
const ARCH_FAMILY: Partial<Record<SeccompArch, readonly SeccompArch[]>> = {
  SCMP_ARCH_X86_64: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  SCMP_ARCH_AARCH64: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
  SCMP_ARCH_MIPS64: ["SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"],
  SCMP_ARCH_MIPS64N32: ["SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64"],
  SCMP_ARCH_MIPSEL64: ["SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"],
  SCMP_ARCH_MIPSEL64N32: ["SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64"],
  SCMP_ARCH_S390X: ["SCMP_ARCH_S390X", "SCMP_ARCH_S390"],
  SCMP_ARCH_RISCV64: ["SCMP_ARCH_RISCV64"],
};

/** This machine's architecture in OCI terms (from the JavaScript runtime's). */
export function hostSeccompArch(): SeccompArch {
  switch (process.arch) {
    case "x64":
      return "SCMP_ARCH_X86_64";
    case "arm64":
      return "SCMP_ARCH_AARCH64";
    case "arm":
      return "SCMP_ARCH_ARM";
    case "ia32":
      return "SCMP_ARCH_X86";
    case "s390x":
      return "SCMP_ARCH_S390X";
    case "ppc64":
      return "SCMP_ARCH_PPC64LE";
    case "riscv64":
      return "SCMP_ARCH_RISCV64";
    case "loong64":
      return "SCMP_ARCH_LOONGARCH64";
    case "mips":
      return "SCMP_ARCH_MIPS";
    case "mipsel":
      return "SCMP_ARCH_MIPSEL";
    default:
      return "SCMP_ARCH_X86_64";
  }
}

/**
 * "6.1.0-18-amd64" → [6, 1]; anything unreadable counts as new enough. node:os is required only
 * when no text is given: loading it costs a direct call ~0.6 ms, and a create never asks.
 */
export function kernelVersion(
  text: string = (require("node:os") as typeof import("node:os")).release(),
): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(text);
  return m === null ? [Number.MAX_SAFE_INTEGER, 0] : [Number(m[1]), Number(m[2])];
}

export interface DefaultProfileOptions {
  /** The container's capabilities (its bounding set); default DEFAULT_CAPABILITIES. */
  readonly capabilities?: readonly string[];
  /** The native architecture; default this machine's. */
  readonly arch?: SeccompArch;
  /** The running kernel as [major, minor]; default this machine's. */
  readonly kernel?: readonly [number, number];
}

function holds(
  w: When,
  caps: readonly string[],
  arch: SeccompArch,
  kernel: readonly [number, number],
): boolean {
  if (w.caps !== undefined && !w.caps.every((c) => caps.includes(c))) return false;
  if (w.arches !== undefined && !w.arches.includes(arch)) return false;
  if (w.minKernel !== undefined) {
    const [maj, min] = w.minKernel;
    if (kernel[0] < maj || (kernel[0] === maj && kernel[1] < min)) return false;
  }
  return true;
}

/**
 * The default profile as an OCI seccomp section, resolved for a capability set, architecture
 * and kernel. With no options: docker's defaults on this machine.
 */
export function defaultSeccompProfile(opts: DefaultProfileOptions = {}): SpecSeccomp {
  const caps = opts.capabilities ?? DEFAULT_CAPABILITIES;
  const arch = opts.arch ?? hostSeccompArch();
  const kernel = opts.kernel ?? kernelVersion();
  const syscalls: SeccompRule[] = [];
  for (const g of GROUPS) {
    if (g.when !== undefined && !holds(g.when, caps, arch, kernel)) continue;
    if (g.unless !== undefined && holds(g.unless, caps, arch, kernel)) continue;
    syscalls.push({ names: g.names, action: g.action, errnoRet: g.errnoRet, args: g.args ?? [] });
  }
  return {
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: 1,
    architectures: ARCH_FAMILY[arch] ?? [],
    flags: [],
    listenerPath: undefined,
    listenerMetadata: undefined,
    syscalls,
  };
}

/**
 * The same profile as config.json's `linux.seccomp` JSON (numbers where they fit a double
 * exactly, as OCI tools write them), for `leopard-oci spec --hardened` and the engine.
 */
export function defaultSeccompJson(opts: DefaultProfileOptions = {}): Record<string, unknown> {
  const p = defaultSeccompProfile(opts);
  return {
    defaultAction: p.defaultAction,
    defaultErrnoRet: p.defaultErrnoRet,
    architectures: p.architectures,
    syscalls: p.syscalls.map((r) => ({
      names: r.names,
      action: r.action,
      ...(r.errnoRet === undefined ? {} : { errnoRet: r.errnoRet }),
      ...(r.args.length === 0
        ? {}
        : {
            args: r.args.map((a) => ({
              index: a.index,
              value: Number(a.value),
              ...(a.valueTwo === 0n ? {} : { valueTwo: Number(a.valueTwo) }),
              op: a.op,
            })),
          }),
    })),
  };
}
