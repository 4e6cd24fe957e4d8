/* Generated from src/protocol/ops.ts by src/protocol/gen-header.ts. Do not edit. */
#ifndef LEOPARD_PROTOCOL_H
#define LEOPARD_PROTOCOL_H

#define LP_MAGIC 0x4452504cu
#define LP_PROTOCOL_VERSION 4
#define LP_HEADER_SIZE 12
#define LP_MAX_FRAME 4194304u
#define LP_MAX_STRING 1048576u

#define LP_ARG_U64 1
#define LP_ARG_BYTES 2
#define LP_ARG_LIST 3

#define LP_MSG_PLAN 1
#define LP_MSG_SYNC 2
#define LP_MSG_RESUME 3
#define LP_MSG_PID 4
#define LP_MSG_READY 5
#define LP_MSG_ERROR 6
#define LP_MSG_PTY 7

#define LP_SYNC_ID_MAPS 1
#define LP_SYNC_CGROUP 2
#define LP_SYNC_TERMINAL 3
#define LP_SYNC_HOOKS 4
#define LP_SYNC_SECCOMP_LISTENER 5

#define LP_OP_UNSHARE 1 /* flags:u64 */
#define LP_OP_SETNS 2 /* path:bytes nstype:u64 */
#define LP_OP_SYNC 3 /* tag:u64 */
#define LP_OP_FORK_PID1 4 /* mode:u64 cgroup:u64 */
#define LP_OP_WRITE_PROC 5 /* path:bytes data:data resolve:u64 */
#define LP_OP_SET_ROOT 6 /* path:bytes */
#define LP_OP_MOUNT 7 /* source:bytes target:bytes fstype:bytes flags:u64 data:bytes resolve:u64 */
#define LP_OP_MKNOD 8 /* path:bytes mode:u64 dev:u64 uid:u64 gid:u64 */
#define LP_OP_SYMLINK 9 /* target:bytes linkpath:bytes */
#define LP_OP_PIVOT_ROOT 10 /* mode:u64 */
#define LP_OP_SETHOSTNAME 11 /* name:bytes */
#define LP_OP_SETDOMAINNAME 12 /* name:bytes */
#define LP_OP_RLIMIT 13 /* resource:u64 soft:u64 hard:u64 */
#define LP_OP_SETGROUPS 14 /* gids:data */
#define LP_OP_SETID 15 /* uid:u64 gid:u64 */
#define LP_OP_CAP_BOUNDING 16 /* mask:u64 last:u64 */
#define LP_OP_CAPS 17 /* effective:u64 permitted:u64 inheritable:u64 */
#define LP_OP_CAP_AMBIENT 18 /* mask:u64 last:u64 */
#define LP_OP_PRCTL 19 /* option:u64 arg:u64 */
#define LP_OP_SECCOMP 20 /* bpf:data flags:u64 */
#define LP_OP_CHDIR 21 /* path:bytes */
#define LP_OP_CLOSE_FDS 22 /* from:u64 */
#define LP_OP_OPEN_FIFO 23 /* path:bytes */
#define LP_OP_WAIT_START 24 /* no args */
#define LP_OP_CONSOLE_FD 25 /* fd:u64 */
#define LP_OP_PTY 26 /* mode:u64 */
#define LP_OP_SETSID 27 /* no args */
#define LP_OP_SET_NAME 28 /* name:bytes */
#define LP_OP_EXEC 29 /* candidates:list argv:list env:list */
#define LP_OP_UMASK 30 /* mask:u64 */
#define LP_OP_MASK 31 /* path:bytes */
#define LP_OP_PERSONALITY 32 /* persona:u64 */
#define LP_OP_IOPRIO 33 /* prio:u64 */
#define LP_OP_SCHED 34 /* policy:u64 flags:u64 nice:u64 priority:u64 runtime:u64 deadline:u64 period:u64 */
#define LP_OP_RUN_HOOK 35 /* path:bytes argv:list env:list state_head:data state_tail:data timeout_ms:u64 stage:bytes */
#define LP_OP_KEYRING 36 /* name:bytes */
#define LP_OP_MOVE_MOUNT 37 /* fd:u64 target:bytes resolve:u64 */
#define LP_OP_MOUNT_SETATTR 38 /* target:bytes set:u64 clear:u64 recursive:u64 */
#define LP_OP_SECCOMP_LISTENER 39 /* bpf:data flags:u64 */
#define LP_OP_CHECK_EXEC 41 /* candidates:list name:bytes */
#define LP_OP_JOIN_CGROUP 42 /* fd:u64 */
#define LP_FD_NONE 4294967295

#define LP_FORK_DETACH 0
#define LP_FORK_WAIT 1

#define LP_PIVOT_PIVOT 0
#define LP_PIVOT_CHROOT 1

#define LP_PTY_SYNC 0
#define LP_PTY_CONSOLE 1

#define LP_RESOLVE_AS_GIVEN 0
#define LP_RESOLVE_DIR 1
#define LP_RESOLVE_FILE 2
#define LP_RESOLVE_IF_EXISTS 3

/* Argument positions: op->a[LPA_<OP>_<ARG>] (native/args.h reads them by name). */
#define LPA_UNSHARE_FLAGS 0
#define LPA_SETNS_PATH 0
#define LPA_SETNS_NSTYPE 1
#define LPA_SYNC_TAG 0
#define LPA_FORK_PID1_MODE 0
#define LPA_FORK_PID1_CGROUP 1
#define LPA_WRITE_PROC_PATH 0
#define LPA_WRITE_PROC_DATA 1
#define LPA_WRITE_PROC_RESOLVE 2
#define LPA_SET_ROOT_PATH 0
#define LPA_MOUNT_SOURCE 0
#define LPA_MOUNT_TARGET 1
#define LPA_MOUNT_FSTYPE 2
#define LPA_MOUNT_FLAGS 3
#define LPA_MOUNT_DATA 4
#define LPA_MOUNT_RESOLVE 5
#define LPA_MKNOD_PATH 0
#define LPA_MKNOD_MODE 1
#define LPA_MKNOD_DEV 2
#define LPA_MKNOD_UID 3
#define LPA_MKNOD_GID 4
#define LPA_SYMLINK_TARGET 0
#define LPA_SYMLINK_LINKPATH 1
#define LPA_PIVOT_ROOT_MODE 0
#define LPA_SETHOSTNAME_NAME 0
#define LPA_SETDOMAINNAME_NAME 0
#define LPA_RLIMIT_RESOURCE 0
#define LPA_RLIMIT_SOFT 1
#define LPA_RLIMIT_HARD 2
#define LPA_SETGROUPS_GIDS 0
#define LPA_SETID_UID 0
#define LPA_SETID_GID 1
#define LPA_CAP_BOUNDING_MASK 0
#define LPA_CAP_BOUNDING_LAST 1
#define LPA_CAPS_EFFECTIVE 0
#define LPA_CAPS_PERMITTED 1
#define LPA_CAPS_INHERITABLE 2
#define LPA_CAP_AMBIENT_MASK 0
#define LPA_CAP_AMBIENT_LAST 1
#define LPA_PRCTL_OPTION 0
#define LPA_PRCTL_ARG 1
#define LPA_SECCOMP_BPF 0
#define LPA_SECCOMP_FLAGS 1
#define LPA_CHDIR_PATH 0
#define LPA_CLOSE_FDS_FROM 0
#define LPA_OPEN_FIFO_PATH 0
#define LPA_CONSOLE_FD_FD 0
#define LPA_PTY_MODE 0
#define LPA_SET_NAME_NAME 0
#define LPA_EXEC_CANDIDATES 0
#define LPA_EXEC_ARGV 1
#define LPA_EXEC_ENV 2
#define LPA_UMASK_MASK 0
#define LPA_MASK_PATH 0
#define LPA_PERSONALITY_PERSONA 0
#define LPA_IOPRIO_PRIO 0
#define LPA_SCHED_POLICY 0
#define LPA_SCHED_FLAGS 1
#define LPA_SCHED_NICE 2
#define LPA_SCHED_PRIORITY 3
#define LPA_SCHED_RUNTIME 4
#define LPA_SCHED_DEADLINE 5
#define LPA_SCHED_PERIOD 6
#define LPA_RUN_HOOK_PATH 0
#define LPA_RUN_HOOK_ARGV 1
#define LPA_RUN_HOOK_ENV 2
#define LPA_RUN_HOOK_STATE_HEAD 3
#define LPA_RUN_HOOK_STATE_TAIL 4
#define LPA_RUN_HOOK_TIMEOUT_MS 5
#define LPA_RUN_HOOK_STAGE 6
#define LPA_KEYRING_NAME 0
#define LPA_MOVE_MOUNT_FD 0
#define LPA_MOVE_MOUNT_TARGET 1
#define LPA_MOVE_MOUNT_RESOLVE 2
#define LPA_MOUNT_SETATTR_TARGET 0
#define LPA_MOUNT_SETATTR_SET 1
#define LPA_MOUNT_SETATTR_CLEAR 2
#define LPA_MOUNT_SETATTR_RECURSIVE 3
#define LPA_SECCOMP_LISTENER_BPF 0
#define LPA_SECCOMP_LISTENER_FLAGS 1
#define LPA_CHECK_EXEC_CANDIDATES 0
#define LPA_CHECK_EXEC_NAME 1
#define LPA_JOIN_CGROUP_FD 0

#define LP_OP_MAX 42

/* Op names and argument kinds, indexed by op code: 'u' u64, 'b' string (no NUL), 'd' binary data, 'l' list. */
static const struct lp_op_info { const char *name; const char *args; } lp_ops[LP_OP_MAX + 1] = {
  [1] = { "UNSHARE", "u" },
  [2] = { "SETNS", "bu" },
  [3] = { "SYNC", "u" },
  [4] = { "FORK_PID1", "uu" },
  [5] = { "WRITE_PROC", "bdu" },
  [6] = { "SET_ROOT", "b" },
  [7] = { "MOUNT", "bbbubu" },
  [8] = { "MKNOD", "buuuu" },
  [9] = { "SYMLINK", "bb" },
  [10] = { "PIVOT_ROOT", "u" },
  [11] = { "SETHOSTNAME", "b" },
  [12] = { "SETDOMAINNAME", "b" },
  [13] = { "RLIMIT", "uuu" },
  [14] = { "SETGROUPS", "d" },
  [15] = { "SETID", "uu" },
  [16] = { "CAP_BOUNDING", "uu" },
  [17] = { "CAPS", "uuu" },
  [18] = { "CAP_AMBIENT", "uu" },
  [19] = { "PRCTL", "uu" },
  [20] = { "SECCOMP", "du" },
  [21] = { "CHDIR", "b" },
  [22] = { "CLOSE_FDS", "u" },
  [23] = { "OPEN_FIFO", "b" },
  [24] = { "WAIT_START", "" },
  [25] = { "CONSOLE_FD", "u" },
  [26] = { "PTY", "u" },
  [27] = { "SETSID", "" },
  [28] = { "SET_NAME", "b" },
  [29] = { "EXEC", "lll" },
  [30] = { "UMASK", "u" },
  [31] = { "MASK", "b" },
  [32] = { "PERSONALITY", "u" },
  [33] = { "IOPRIO", "u" },
  [34] = { "SCHED", "uuuuuuu" },
  [35] = { "RUN_HOOK", "bllddub" },
  [36] = { "KEYRING", "b" },
  [37] = { "MOVE_MOUNT", "ubu" },
  [38] = { "MOUNT_SETATTR", "buuu" },
  [39] = { "SECCOMP_LISTENER", "du" },
  [41] = { "CHECK_EXEC", "lb" },
  [42] = { "JOIN_CGROUP", "u" },
};

#endif
