// The wire protocol between TypeScript (which plans) and the C helper (which executes).
// This file is the single source of truth: native/protocol.h is generated from it
// (`bun src/protocol/gen-header.ts`), and a test fails when the two disagree.
//
// Every frame on the sync socket (AF_UNIX, SOCK_SEQPACKET, so one send = one message):
//
//   u32 magic  (MAGIC, little-endian)
//   u16 version (PROTOCOL_VERSION)
//   u16 type   (MsgType)
//   u32 payload length (must equal the datagram size minus HEADER_SIZE)
//   payload
//
// The PLAN payload is:  u32 op count, then each op:
//   u16 op code, u16 arg count, u32 arg bytes, then the args, each one of:
//   u8 ARG_U64 + u64                         (numbers, flags, masks)
//   u8 ARG_BYTES + u32 len + bytes           (strings: must not contain NUL; "data" args may)
//   u8 ARG_LIST + u32 count + (u32 len + bytes)*   (argv, env, path candidates)
// The helper checks every length against what remains of the frame before it reads.

export const MAGIC = 0x4452504c; // "LPRD"
export const PROTOCOL_VERSION = 4;
export const HEADER_SIZE = 12;
/** The largest frame either side accepts. */
export const MAX_FRAME = 4 * 1024 * 1024;
/** The largest single string or list element. */
export const MAX_STRING = 1024 * 1024;

export const ArgKind = { U64: 1, BYTES: 2, LIST: 3 } as const;

/** openat2's resolve flags (linux/openat2.h), for WRITE_PROC. */
export const RESOLVE = {
  NO_XDEV: 0x01,
  NO_MAGICLINKS: 0x02,
  NO_SYMLINKS: 0x04,
  BENEATH: 0x08,
} as const;

/** Message types. Direction in the comment. */
export const MsgType = {
  /** TS → C: the op list. */
  PLAN: 1,
  /** C → TS: the helper reached a SYNC op; payload u32 tag, u32 pid of the sender (host view). */
  SYNC: 2,
  /** TS → C: carry on after SYNC; payload u32 tag (must match). */
  RESUME: 3,
  /**
   * C → TS: the container's init exists; payload u32 pid (host view), then the op times of the
   * helper up to this fork: u32 first op index, u32 count, count u64 CLOCK_MONOTONIC ns (the
   * start of each op, then the end of the last).
   */
  PID: 4,
  /** C → TS: init is set up and blocks on the start FIFO; payload the op times since the fork (as PID's). */
  READY: 5,
  /** C → TS: an op failed; payload u32 op index, u16 op code, u16 pad, i32 errno, u32 len + path, u32 len + message. */
  ERROR: 6,
  /** C → TS: the pty master, passed with SCM_RIGHTS. No payload. */
  PTY: 7,
} as const;
export type MsgType = (typeof MsgType)[keyof typeof MsgType];

/** "bytes" is a C string (no NUL); "data" is binary (BPF, packed gids) sent the same way. */
type ArgSpec = "u64" | "bytes" | "data" | "list";

/** Op codes and the arguments each takes, in order. */
export const OPS = {
  /** unshare(flags) */
  UNSHARE: { code: 1, args: { flags: "u64" } },
  /** open(path) + setns(fd, nstype) */
  SETNS: { code: 2, args: { path: "bytes", nstype: "u64" } },
  /** Send SYNC{tag, getpid()}, wait for RESUME{tag}. */
  SYNC: { code: 3, args: { tag: "u64" } },
  /**
   * fork(); the child goes on with the next op (it is PID 1 of a new PID namespace, if one was
   * unshared). The parent sends PID{child} and then: mode 0 exits 0 at once (detached create);
   * mode 1 waits for the child and exits with its status (128+signal when killed). cgroup: an
   * inherited fd of a cgroup2 directory, or FD.NONE: the child is made in that cgroup by
   * clone3(CLONE_INTO_CGROUP) instead of fork() (no cgroup.procs write: see JOIN_CGROUP); the fd is
   * closed on both sides.
   */
  FORK_PID1: { code: 4, args: { mode: "u64", cgroup: "u64" } },
  /**
   * write(data) to a file beneath /proc: open("/proc") (O_PATH, O_NOFOLLOW), verified to be procfs
   * (fstatfs PROC_SUPER_MAGIC), then openat2(that fd, path, O_WRONLY) with `resolve` as the open_how
   * resolve flags (RESOLVE below). timens_offsets, oom_score_adj, sysctls, LSM labels.
   */
  WRITE_PROC: { code: 5, args: { path: "bytes", data: "data", resolve: "u64" } },
  /** Open the root filesystem directory; later ops with resolve != 0 are relative to it. */
  SET_ROOT: { code: 6, args: { path: "bytes" } },
  /**
   * mount(source, target, fstype, flags, data). resolve: 0 = target is used as given;
   * 1 = target is resolved inside the root (no symlink leaves it), directories created;
   * 2 = the same, the last component created as an empty file; 3 = resolved inside the root,
   * and when it does not exist the op does nothing (readonly paths). The mount goes onto
   * /proc/self/fd/N of the resolved target. A remount that fails with EPERM is retried once
   * with the target's locked flags (nosuid, nodev, noexec, ro, atime) added.
   */
  MOUNT: {
    code: 7,
    args: { source: "bytes", target: "bytes", fstype: "bytes", flags: "u64", data: "bytes", resolve: "u64" },
  },
  /** mknod inside the root (parents created), then chown(uid, gid) and chmod(mode & 07777). */
  MKNOD: { code: 8, args: { path: "bytes", mode: "u64", dev: "u64", uid: "u64", gid: "u64" } },
  /** symlink(target, linkpath) with linkpath inside the root; an existing link is kept. */
  SYMLINK: { code: 9, args: { target: "bytes", linkpath: "bytes" } },
  /** mode 0: pivot_root(".", ".") on the root then detach the old root; mode 1: MS_MOVE + chroot. */
  PIVOT_ROOT: { code: 10, args: { mode: "u64" } },
  SETHOSTNAME: { code: 11, args: { name: "bytes" } },
  SETDOMAINNAME: { code: 12, args: { name: "bytes" } },
  /** setrlimit(resource, {soft, hard}) */
  RLIMIT: { code: 13, args: { resource: "u64", soft: "u64", hard: "u64" } },
  /** setgroups(gids); gids is a packed array of u32 LE. */
  SETGROUPS: { code: 14, args: { gids: "data" } },
  /** setresgid(gid) then setresuid(uid). */
  SETID: { code: 15, args: { uid: "u64", gid: "u64" } },
  /** prctl(PR_CAPBSET_DROP) for every capability not in mask, up to last (the kernel's last cap). */
  CAP_BOUNDING: { code: 16, args: { mask: "u64", last: "u64" } },
  /** capset(effective, permitted, inheritable). */
  CAPS: { code: 17, args: { effective: "u64", permitted: "u64", inheritable: "u64" } },
  /** Clear the ambient set, then raise each capability in mask. */
  CAP_AMBIENT: { code: 18, args: { mask: "u64", last: "u64" } },
  /** prctl(option, arg2): PR_SET_KEEPCAPS, PR_SET_NO_NEW_PRIVS, PR_SET_DUMPABLE, ... */
  PRCTL: { code: 19, args: { option: "u64", arg: "u64" } },
  /** Install a seccomp BPF program (struct sock_filter[]), flags for seccomp(2). */
  SECCOMP: { code: 20, args: { bpf: "data", flags: "u64" } },
  /** chdir(path), then refuse a working directory outside the root (CVE-2024-21626). */
  CHDIR: { code: 21, args: { path: "bytes" } },
  /** Mark every fd >= from close-on-exec (the sync socket and FIFO are already). */
  CLOSE_FDS: { code: 22, args: { from: "u64" } },
  /**
   * open(path, O_PATH) of the start FIFO, kept for WAIT_START (taken before pivot_root). The parent
   * passes the FIFO as an inherited fd and names it /proc/self/fd/N: the state directory may be
   * out of reach of the container's user.
   */
  OPEN_FIFO: { code: 23, args: { path: "bytes" } },
  /** Send READY, reopen the FIFO through /proc/self/fd for writing (blocks until `start`), write one byte. */
  WAIT_START: { code: 24, args: {} },
  /**
   * Adopt an inherited fd: a stream socket the parent already connected to the --console-socket
   * (the container's user may not be able to reach its path). Marked close-on-exec; kept for PTY mode 1.
   */
  CONSOLE_FD: { code: 25, args: { fd: "u64" } },
  /**
   * Open /dev/ptmx in the container, send the master with SCM_RIGHTS (mode 0 over the sync socket
   * as a PTY message, mode 1 over the console socket), make the slave the controlling terminal and
   * fds 0, 1, 2.
   */
  PTY: { code: 26, args: { mode: "u64" } },
  /** setsid() */
  SETSID: { code: 27, args: {} },
  /** Rename the process (prctl PR_SET_NAME and argv[0]) so ps shows the stage. */
  SET_NAME: { code: 28, args: { name: "bytes" } },
  /**
   * execve(candidate, argv, env) for each candidate path in order until one is not ENOENT
   * (TypeScript expands $PATH into candidates). Exit status 127 when none exists, 126 otherwise.
   */
  EXEC: { code: 29, args: { candidates: "list", argv: "list", env: "list" } },
  /** umask(mask) */
  UMASK: { code: 30, args: { mask: "u64" } },
  /** Bind /dev/null (verified char 1:3, opened by fd) over path in the root; a directory gets a read-only tmpfs. */
  MASK: { code: 31, args: { path: "bytes" } },
  /** personality(persona): the execution domain (PER_LINUX, PER_LINUX32) ORed with its flags. */
  PERSONALITY: { code: 32, args: { persona: "u64" } },
  /** ioprio_set(IOPRIO_WHO_PROCESS, 0, prio): prio is (class << 13) | level, as the kernel packs it. */
  IOPRIO: { code: 33, args: { prio: "u64" } },
  /** sched_setattr(0, attr, 0) with struct sched_attr built from these fields (nice as two's complement). */
  SCHED: {
    code: 34,
    args: {
      policy: "u64",
      flags: "u64",
      nice: "u64",
      priority: "u64",
      runtime: "u64",
      deadline: "u64",
      period: "u64",
    },
  },
  /**
   * An OCI hook run by the container's process (createContainer before pivot_root, startContainer
   * after WAIT_START): fork, execve(path, argv, env) with fds 3.. closed and stdin a pipe carrying
   * state_head + our pid as the runtime sees it (from FORK_PID1) + state_tail; wait up to
   * timeout_ms (0: no limit, else SIGKILL). Fails unless the hook exits 0. stage is for messages.
   */
  RUN_HOOK: {
    code: 35,
    args: {
      path: "bytes",
      argv: "list",
      env: "list",
      state_head: "data",
      state_tail: "data",
      timeout_ms: "u64",
      stage: "bytes",
    },
  },
  /** keyctl(KEYCTL_JOIN_SESSION_KEYRING, name): a fresh session keyring (unless --no-new-keyring). */
  KEYRING: { code: 36, args: { name: "bytes" } },
  /**
   * move_mount(fd, "", target, MOVE_MOUNT_F_EMPTY_PATH): attach an inherited detached mount (the
   * parent made it with open_tree, e.g. idmapped) onto target, resolved inside the root like
   * MOUNT's resolve 1 (directory) or 2 (file). The fd is closed afterwards.
   */
  MOVE_MOUNT: { code: 37, args: { fd: "u64", target: "bytes", resolve: "u64" } },
  /**
   * mount_setattr(target, AT_RECURSIVE if recursive, {attr_set: set, attr_clr: clear}) on a
   * target resolved inside the root (must exist): recursive flags such as rro on a bind mount
   * and everything below it.
   */
  MOUNT_SETATTR: { code: 38, args: { target: "bytes", set: "u64", clear: "u64", recursive: "u64" } },
  /**
   * SECCOMP with a listener for SCMP_ACT_NOTIFY: seccomp(2) with flags | SECCOMP_FILTER_FLAG_NEW_LISTENER,
   * then SYNC{tag SECCOMP_LISTENER, getpid()} with the returned listener fd passed by SCM_RIGHTS,
   * our copy closed, and a wait for RESUME (the parent has handed the fd to the seccomp agent).
   * Between seccomp(2) and RESUME the helper calls only sendmsg, close and recvfrom.
   */
  SECCOMP_LISTENER: { code: 39, args: { bpf: "data", flags: "u64" } },
  /**
   * The command check runc makes before waiting for start (Go's exec.LookPath), so a missing or
   * non-executable command fails `create`: stat each candidate in order; the first that is not a
   * directory and has an execute bit passes. Else it fails with the last candidate's error (ENOENT
   * from stat, EACCES for a directory or a file without an execute bit). name is argv[0], for messages.
   */
  CHECK_EXEC: { code: 41, args: { candidates: "list", name: "bytes" } },
  /**
   * write("0") to fd, an inherited `tasks` file of a cgroup v1 hierarchy the runtime opened, then
   * close it: the calling thread (the whole helper: it has one) moves into that cgroup. A thread
   * moving itself is the one migration the kernel (6.0+) makes without its global threadgroup
   * lock; a cgroup.procs write of a pid takes it and waits out an RCU grace period (~10 ms here).
   */
  JOIN_CGROUP: { code: 42, args: { fd: "u64" } },
} as const satisfies Record<string, { code: number; args: Record<string, ArgSpec> }>;

export type OpName = keyof typeof OPS;
type ArgValue<S> = S extends "u64"
  ? number | bigint
  : S extends "bytes" | "data"
    ? string | Uint8Array
    : readonly string[];
export type OpArgs<N extends OpName> = {
  [K in keyof (typeof OPS)[N]["args"]]: ArgValue<(typeof OPS)[N]["args"][K]>;
};

/** One op of a launch plan: a discriminated union over every op name. */
export type Op = { [N in OpName]: { op: N } & OpArgs<N> }[OpName];

export const OP_NAMES: ReadonlyMap<number, OpName> = new Map(
  (Object.keys(OPS) as OpName[]).map((name) => [OPS[name].code, name]),
);

/** No fd: FORK_PID1's cgroup when the child is made by plain fork(). */
export const FD = { NONE: 0xffff_ffff } as const;

/** FORK_PID1's mode: what the helper's parent does once PID is sent. */
export const ForkMode = {
  /** exit 0 at once (detached) */ DETACH: 0,
  /** wait and exit with the child's status */ WAIT: 1,
} as const;
/** PIVOT_ROOT's mode. */
export const PivotMode = {
  /** pivot_root(".", ".") and detach the old root */ PIVOT: 0,
  /** MS_MOVE + chroot (--no-pivot) */ CHROOT: 1,
} as const;
/** PTY's mode: where the master goes. */
export const PtyMode = {
  /** a PTY message on the sync socket */ SYNC: 0,
  /** the console socket (CONSOLE_FD) */ CONSOLE: 1,
} as const;
/** MOUNT's and MOVE_MOUNT's `resolve`: how the target is found. */
export const MountResolve = {
  /** the target is used as given (after pivot_root: "/") */
  AS_GIVEN: 0,
  /** resolved inside the root, directories created */
  DIR: 1,
  /** the same, the last component created as an empty file */
  FILE: 2,
  /** resolved inside the root; when it does not exist the op does nothing (readonly paths) */
  IF_EXISTS: 3,
} as const;
export type MountResolve = (typeof MountResolve)[keyof typeof MountResolve];

/**
 * The sync points, numbered the same on both sides. The whole exchange on the sync socket, in
 * order, for `create` (exec: the same without sync 1, 4 and READY; sync 3 only with a terminal):
 *
 *   runtime (TypeScript)                          helper (C)                      op
 *   ──────────────────────────────────────────────────────────────────────────────────────────
 *   socketpair; spawn helper SYNCFD
 *   PLAN{ops}                     ──────────►     parse, check every length
 *                                                  SET_NAME, oom_score_adj, SETNS user
 *                                                  unshare(CLONE_NEWUSER)          UNSHARE
 *   write uid_map, gid_map        ◄──────────     SYNC{1 ID_MAPS, pid}            SYNC
 *   RESUME{1}                     ──────────►     setresuid(0)…, SETNS others
 *   cgroup.procs ← pid            ◄──────────     SYNC{2 CGROUP, pid}             SYNC
 *   RESUME{2}                     ──────────►     unshare(the rest)
 *     (or, with no user namespace: no sync 2;      "0" → each v1 tasks fd          JOIN_CGROUP
 *      the runtime opened the files)               unshare(the rest but cgroup)
 *   pid = init                    ◄──────────     PID{init, op times}             FORK_PID1
 *                                                  (clone3 into the cgroup2 fd; init: unshare cgroup)
 *                                                  (parent: exit 0, or wait and mirror status)
 *                                                  init: mounts, devices
 *   prestart, createRuntime hooks ◄──────────     SYNC{4 HOOKS, pid}              SYNC
 *   RESUME{4}                     ──────────►     createContainer hooks, pivot_root, …
 *   keep the pty master           ◄──────────     PTY + SCM_RIGHTS(master)         PTY (mode SYNC)
 *   set its window size (exec)    ◄──────────     SYNC{3 TERMINAL, pid}           SYNC
 *   RESUME{3}                     ──────────►     credentials, cwd
 *   send fd to the seccomp agent  ◄──────────     SYNC{5, pid} + SCM_RIGHTS(fd)   SECCOMP_LISTENER
 *   RESUME{5}                     ──────────►     CHECK_EXEC
 *   state.json, pid file          ◄──────────     READY{op times}                 WAIT_START
 *   (detached: close the socket and exit)          blocks on the start FIFO
 *   `start` opens the FIFO                         startContainer hooks, LSM, seccomp
 *   EOF (foreground: exec done)   ◄──────────     execve (the socket is close-on-exec)   EXEC
 *
 * Any op that fails sends ERROR{op index, op, errno, path, message} instead and the helper exits;
 * the runtime kills what exists and removes the container. An unplanned message is a protocol
 * error (src/protocol/sequence.ts); each side waits for the other with a timeout.
 */
export const SyncTag = {
  /** sync 1: the user namespace exists; the parent writes uid_map/gid_map. */
  ID_MAPS: 1,
  /** sync 2: the container process may be placed in its cgroup. */
  CGROUP: 2,
  /** sync 3: the caller holds the pty master (exec) and has set its window size. */
  TERMINAL: 3,
  /** sync 4: the namespaces and mounts exist, before pivot_root: the parent runs prestart and createRuntime hooks. */
  HOOKS: 4,
  /** sync 5: SECCOMP_LISTENER's message, carrying the listener fd; the parent sends it to linux.seccomp.listenerPath. */
  SECCOMP_LISTENER: 5,
} as const;
