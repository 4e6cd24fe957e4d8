/* The op interpreter: one function per op, in the order of src/protocol/ops.ts. Each returns 0 to
 * go on or -1 with the error record filled; none of them exits (FORK_PID1's parent asks the op
 * loop to, through st->exit_now). The order of ops is the planner's; only what happens inside
 * one op is decided here. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/filter.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "args.h"


struct fdpath {
  char s[32];
};

static struct fdpath fdpath(int fd) {
  struct fdpath p;
  snprintf(p.s, sizeof(p.s), "/proc/self/fd/%d", fd);
  return p;
}

static const char *null_if_empty(const char *s) {
  return *s != '\0' ? s : NULL;
}

static int op_unshare(const struct lp_op *op) {
  if (unshare((int)U(UNSHARE_FLAGS)) < 0) return lp_fail("unshare", NULL);
  return 0;
}

static int op_setns(const struct lp_op *op) {
  autoclose int fd = open(S(SETNS_PATH), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return lp_fail("open", S(SETNS_PATH));
  return setns(fd, (int)U(SETNS_NSTYPE)) < 0 ? lp_fail("setns", S(SETNS_PATH)) : 0;
}

/* JOIN_CGROUP: "0" into a v1 hierarchy's tasks file (an fd the runtime opened): this thread, the
 * helper's only one, moves itself, which the kernel does without its global threadgroup lock. */
static int op_join_cgroup(const struct lp_op *op) {
  if (U(JOIN_CGROUP_FD) > INT32_MAX) return lp_fail_errno(EBADF, "join cgroup: bad fd", NULL);
  autoclose int fd = (int)U(JOIN_CGROUP_FD);
  ssize_t n;
  while ((n = write(fd, "0", 1)) < 0 && errno == EINTR) {
  }
  return n == 1 ? 0 : lp_fail("write tasks", NULL);
}

static int op_sync(struct lp_state *st, const struct lp_op *op) {
  uint32_t tag = (uint32_t)U(SYNC_TAG);
  if (lp_send_u32s(st->sync, LP_MSG_SYNC, tag, (uint32_t)getpid(), 2) < 0) return -1;
  return lp_wait_resume(st->sync, tag);
}

/* The parent of PID 1 reports it, then leaves (mode 0) or waits and mirrors its status (mode 1). */
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
/* struct clone_args up to `cgroup` (CLONE_ARGS_SIZE_VER2): linux/sched.h, which clashes with sched.h. */
struct lp_clone_args {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

/* fork(), or with a cgroup2 directory fd clone3(CLONE_INTO_CGROUP): the child is born in it. */
static pid_t fork_into(uint64_t cgroup) {
  if (cgroup == LP_FD_NONE) return fork();
  struct lp_clone_args a = { .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = cgroup };
  return (pid_t)syscall(SYS_clone3, &a, sizeof(a));
}

static int op_fork_pid1(struct lp_state *st, const struct lp_op *op) {
  if (U(FORK_PID1_MODE) > LP_FORK_WAIT) return lp_fail_errno(EINVAL, "fork: bad mode", NULL);
  uint64_t cgroup = U(FORK_PID1_CGROUP);
  if (cgroup != LP_FD_NONE && cgroup > INT32_MAX) return lp_fail_errno(EBADF, "fork: bad cgroup fd", NULL);
  /* An inherited SIG_IGN would make the kernel reap the child before waitpid sees it. */
  signal(SIGCHLD, SIG_DFL);
  /* The child waits on this pipe until PID is on the socket, so TypeScript always reads PID
   * before anything the child sends (without it, the child's SYNC can overtake it). */
  int gate[2];
  if (pipe2(gate, O_CLOEXEC) < 0) return lp_fail("pipe2", NULL);
  autoclose int gate_r = gate[0];
  autoclose int gate_w = gate[1];
  pid_t pid = fork_into(cgroup);
  if (pid < 0) return lp_fail(cgroup == LP_FD_NONE ? "fork" : "clone3 into the cgroup", NULL);
  if (cgroup != LP_FD_NONE) close((int)cgroup); /* both sides: init is in the cgroup now */
  if (pid == 0) { /* PID 1: goes on with the next op once the parent has reported it */
    uint32_t host_pid = 0; /* the parent passes our pid as it sees it (hooks' state needs it) */
    lp_closep(&gate_w);
    while (read(gate_r, &host_pid, sizeof(host_pid)) < 0 && errno == EINTR) {
    }
    st->host_pid = host_pid;
    st->timed_from = st->index + 1; /* the parent reported the ops up to the fork */
    return 0;
  }
  lp_closep(&gate_r);
  /* The times of the ops so far (ours, up to this fork), the end stamped now. */
  st->stamps[st->index + 1] = lp_now();
  int sent = lp_send_times(st->sync, LP_MSG_PID, 1, (uint32_t)pid, st->stamps, 0, st->index + 2);
  if (sent < 0) kill(pid, SIGKILL); /* nobody would know about it */
  else {
    uint32_t host_pid = (uint32_t)pid;
    if (write(gate_w, &host_pid, sizeof(host_pid)) != sizeof(host_pid)) { /* the child reads 0 */
    }
  }
  lp_closep(&gate_w);
  if (sent < 0) return -1;
  st->exit_now = 1;
  st->exit_status = 0;
  if (U(FORK_PID1_MODE) == LP_FORK_DETACH) return 0;
  /* Our copy of the sync socket must not keep it open after init execs. */
  lp_closep(&st->sync);
  static const int ignored[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU };
  for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) signal(ignored[i], SIG_IGN);
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return lp_fail("waitpid", NULL);
  st->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return 0;
}

/* write(data) to path beneath the process's /proc. "/proc" itself is opened without following a
 * symlink and must be procfs; the path is resolved beneath it with the plan's openat2 resolve
 * flags (no "..", no magic link, no mount crossing; for /proc/sys no symlink at all), so neither a
 * crafted sysctl key nor a mount over part of /proc can send the write elsewhere (CVE-2019-16884). */
static int op_write_proc(const struct lp_op *op) {
  static char where[4096];
  snprintf(where, sizeof(where), "/proc/%s", S(WRITE_PROC_PATH));
  autoclose int proc = open("/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (proc < 0) return lp_fail("open", "/proc");
  struct statfs sf;
  if (fstatfs(proc, &sf) < 0) return lp_fail("fstatfs", "/proc");
  if (sf.f_type != PROC_SUPER_MAGIC) return lp_fail_errno(EXDEV, "/proc is not procfs", "/proc");
  struct open_how how = { .flags = O_WRONLY | O_NOCTTY | O_CLOEXEC, .resolve = U(WRITE_PROC_RESOLVE) };
  autoclose int fd = -1;
  do fd = (int)syscall(SYS_openat2, proc, S(WRITE_PROC_PATH), &how, sizeof(how));
  while (fd < 0 && (errno == EINTR || errno == EAGAIN));
  if (fd < 0) return lp_fail("openat2", where);
  ssize_t n = write(fd, S(WRITE_PROC_DATA), LEN(WRITE_PROC_DATA)); /* one write: /proc files take one */
  if (n < 0) return lp_fail("write", where);
  if ((size_t)n != LEN(WRITE_PROC_DATA)) return lp_fail_errno(EIO, "write", where);
  return 0;
}

static int op_set_root(struct lp_state *st, const struct lp_op *op) {
  lp_closep(&st->root);
  st->root = open(S(SET_ROOT_PATH), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (st->root < 0) return lp_fail("open", S(SET_ROOT_PATH));
  return 0;
}

/* A remount may not clear flags the kernel locked (a mount inherited into a user namespace). */
static unsigned long locked_flags(int fd, const char *target) {
  struct statvfs sv;
  if ((fd >= 0 ? fstatvfs(fd, &sv) : statvfs(target, &sv)) < 0) return 0;
  static const struct {
    unsigned long st, ms;
  } map[] = {
    { ST_RDONLY, MS_RDONLY },       { ST_NOSUID, MS_NOSUID },         { ST_NODEV, MS_NODEV },
    { ST_NOEXEC, MS_NOEXEC },       { ST_NOATIME, MS_NOATIME },       { ST_NODIRATIME, MS_NODIRATIME },
#ifdef ST_RELATIME
    { ST_RELATIME, MS_RELATIME },
#endif
  };
  unsigned long ms = 0;
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
    if (sv.f_flag & map[i].st) ms |= map[i].ms;
  return ms;
}

static int op_mount(struct lp_state *st, const struct lp_op *op) {
  const char *src = null_if_empty(S(MOUNT_SOURCE)), *target = S(MOUNT_TARGET), *fstype = null_if_empty(S(MOUNT_FSTYPE));
  const char *data = null_if_empty(S(MOUNT_DATA));
  unsigned long flags = (unsigned long)U(MOUNT_FLAGS);
  if (U(MOUNT_RESOLVE) > LP_RESOLVE_IF_EXISTS) return lp_fail_errno(EINVAL, "mount: bad resolve mode", target);
  autoclose int fd = -1;
  struct fdpath proc;
  const char *where = target;
  if (U(MOUNT_RESOLVE) == LP_RESOLVE_IF_EXISTS) { /* readonly paths: one that does not exist needs nothing */
    fd = lp_open_in_root(st->root, target, O_PATH);
    if (fd < 0) return errno == ENOENT ? 0 : lp_fail("openat2", target);
  } else if (U(MOUNT_RESOLVE) != LP_RESOLVE_AS_GIVEN) {
    fd = lp_create_in_root(st->root, target, U(MOUNT_RESOLVE) == LP_RESOLVE_FILE);
    if (fd < 0) return -1;
  }
  if (fd >= 0) {
    proc = fdpath(fd);
    where = proc.s;
  }
  int rc = mount(src, where, fstype, flags, data);
  if (rc < 0 && errno == EPERM && (flags & MS_REMOUNT))
    rc = mount(src, where, fstype, flags | locked_flags(fd, target), data);
  return rc < 0 ? lp_fail("mount", target) : 0;
}

static int op_mknod(struct lp_state *st, const struct lp_op *op) {
  const char *path = S(MKNOD_PATH), *base;
  mode_t mode = (mode_t)U(MKNOD_MODE);
  autoclose int dir = lp_open_parent_in_root(st->root, path, &base);
  if (dir < 0) return -1;
  if (unlinkat(dir, base, 0) < 0 && errno != ENOENT) return lp_fail("unlinkat", path);
  if (mknodat(dir, base, mode, (dev_t)U(MKNOD_DEV)) < 0) return lp_fail("mknodat", path);
  if (fchownat(dir, base, (uid_t)U(MKNOD_UID), (gid_t)U(MKNOD_GID), AT_SYMLINK_NOFOLLOW) < 0) return lp_fail("fchownat", path);
  if (fchmodat(dir, base, mode & 07777, AT_SYMLINK_NOFOLLOW) < 0) return lp_fail("fchmodat", path);
  return 0;
}

static int op_symlink(struct lp_state *st, const struct lp_op *op) {
  const char *base;
  autoclose int dir = lp_open_parent_in_root(st->root, S(SYMLINK_LINKPATH), &base);
  if (dir < 0) return -1;
  return symlinkat(S(SYMLINK_TARGET), dir, base) < 0 && errno != EEXIST ? lp_fail("symlinkat", S(SYMLINK_LINKPATH)) : 0;
}

/* mode 0 is runc's trick: pivot_root(".", ".") stacks the old root on the new one, which we then
 * detach from the old root's fd, so no ".old_root" directory is ever left in the container. */
static int op_pivot_root(struct lp_state *st, const struct lp_op *op) {
  if (U(PIVOT_ROOT_MODE) == LP_PIVOT_CHROOT) {
    if (fchdir(st->root) < 0) return lp_fail("fchdir", NULL);
    if (mount(".", "/", NULL, MS_MOVE, NULL) < 0) return lp_fail("mount", "/");
    if (chroot(".") < 0) return lp_fail("chroot", ".");
    if (chdir("/") < 0) return lp_fail("chdir", "/");
    return 0;
  }
  if (U(PIVOT_ROOT_MODE) != LP_PIVOT_PIVOT) return lp_fail_errno(EINVAL, "pivot_root: bad mode", NULL);
  autoclose int old = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (old < 0) return lp_fail("open", "/");
  if (fchdir(st->root) < 0) return lp_fail("fchdir", NULL);
  if (syscall(SYS_pivot_root, ".", ".") < 0) return lp_fail("pivot_root", ".");
  if (fchdir(old) < 0) return lp_fail("fchdir", "/");
  /* Slave first, so the unmount does not propagate to the host. */
  if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) return lp_fail("mount", "old root");
  if (umount2(".", MNT_DETACH) < 0) return lp_fail("umount2", "old root");
  if (chdir("/") < 0) return lp_fail("chdir", "/");
  return 0;
}

static int op_rlimit(const struct lp_op *op) {
  struct rlimit rl = {
    .rlim_cur = U(RLIMIT_SOFT) == UINT64_MAX ? RLIM_INFINITY : (rlim_t)U(RLIMIT_SOFT),
    .rlim_max = U(RLIMIT_HARD) == UINT64_MAX ? RLIM_INFINITY : (rlim_t)U(RLIMIT_HARD),
  };
  if (setrlimit((__rlimit_resource_t)U(RLIMIT_RESOURCE), &rl) < 0) return lp_fail("setrlimit", NULL);
  return 0;
}

static int op_setgroups(const struct lp_op *op) {
  if (LEN(SETGROUPS_GIDS) % 4 != 0) return lp_fail_errno(EINVAL, "setgroups: length not a multiple of 4", NULL);
  size_t n = LEN(SETGROUPS_GIDS) / 4;
  autofree gid_t *gids = calloc(n ? n : 1, sizeof(gid_t));
  if (gids == NULL) return lp_fail("malloc", NULL);
  const uint8_t *p = (const uint8_t *)S(SETGROUPS_GIDS);
  for (size_t i = 0; i < n; i++)
    gids[i] = (gid_t)p[4 * i] | (gid_t)p[4 * i + 1] << 8 | (gid_t)p[4 * i + 2] << 16 | (gid_t)p[4 * i + 3] << 24;
  return setgroups(n, gids) < 0 ? lp_fail("setgroups", NULL) : 0;
}

static int op_setid(const struct lp_op *op) {
  gid_t gid = (gid_t)U(SETID_GID);
  uid_t uid = (uid_t)U(SETID_UID);
  /* gid first: after setresuid we may no longer be allowed to change it. */
  if (setresgid(gid, gid, gid) < 0) return lp_fail("setresgid", NULL);
  if (setresuid(uid, uid, uid) < 0) return lp_fail("setresuid", NULL);
  return 0;
}

static int op_cap_bounding(const struct lp_op *op) {
  if (U(CAP_BOUNDING_LAST) > 63) return lp_fail_errno(EINVAL, "capabilities: last cap above 63", NULL);
  for (uint64_t cap = 0; cap <= U(CAP_BOUNDING_LAST); cap++)
    if (!(U(CAP_BOUNDING_MASK) & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0) < 0)
      return lp_fail("prctl PR_CAPBSET_DROP", NULL);
  return 0;
}

static int op_caps(const struct lp_op *op) {
  struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct d[2];
  for (int i = 0; i < 2; i++) {
    d[i].effective = (uint32_t)(U(CAPS_EFFECTIVE) >> (32 * i));
    d[i].permitted = (uint32_t)(U(CAPS_PERMITTED) >> (32 * i));
    d[i].inheritable = (uint32_t)(U(CAPS_INHERITABLE) >> (32 * i));
  }
  if (syscall(SYS_capset, &h, d) < 0) return lp_fail("capset", NULL);
  return 0;
}

static int op_cap_ambient(const struct lp_op *op) {
  if (U(CAP_AMBIENT_LAST) > 63) return lp_fail_errno(EINVAL, "capabilities: last cap above 63", NULL);
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) return lp_fail("prctl PR_CAP_AMBIENT", NULL);
  for (uint64_t cap = 0; cap <= U(CAP_AMBIENT_LAST); cap++)
    if ((U(CAP_AMBIENT_MASK) & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)cap, 0, 0) < 0)
      return lp_fail("prctl PR_CAP_AMBIENT_RAISE", NULL);
  return 0;
}

static int op_seccomp(const struct lp_op *op) {
  if (LEN(SECCOMP_BPF) == 0 || LEN(SECCOMP_BPF) % sizeof(struct sock_filter) != 0 || LEN(SECCOMP_BPF) / sizeof(struct sock_filter) > BPF_MAXINSNS)
    return lp_fail_errno(EINVAL, "seccomp: bad program length", NULL);
  struct sock_fprog prog = {
    .len = (unsigned short)(LEN(SECCOMP_BPF) / sizeof(struct sock_filter)),
    .filter = (struct sock_filter *)(void *)S(SECCOMP_BPF), /* malloc'd copy: aligned */
  };
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (unsigned long)U(SECCOMP_FLAGS), &prog) < 0)
    return lp_fail("seccomp", NULL);
  return 0;
}

/* The filter with a listener (SCMP_ACT_NOTIFY): the listener fd goes to the parent over the sync
 * socket, and our copy is closed at once, so the container never holds it. From seccomp(2) until
 * RESUME only sendmsg, close and recvfrom run (the spec validation refuses NOTIFY for those):
 * nobody could answer them before the agent has the fd. */
static int op_seccomp_listener(struct lp_state *st, const struct lp_op *op) {
  if (LEN(SECCOMP_LISTENER_BPF) == 0 || LEN(SECCOMP_LISTENER_BPF) % sizeof(struct sock_filter) != 0 || LEN(SECCOMP_LISTENER_BPF) / sizeof(struct sock_filter) > BPF_MAXINSNS)
    return lp_fail_errno(EINVAL, "seccomp: bad program length", NULL);
  if (st->sync < 0) return lp_fail_errno(EBADF, "seccomp: no sync socket for the listener", NULL);
  struct sock_fprog prog = {
    .len = (unsigned short)(LEN(SECCOMP_LISTENER_BPF) / sizeof(struct sock_filter)),
    .filter = (struct sock_filter *)(void *)S(SECCOMP_LISTENER_BPF),
  };
  uint32_t pid = (uint32_t)getpid(); /* before the filter: getpid may be one it notifies */
  autoclose int fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                                  (unsigned long)U(SECCOMP_LISTENER_FLAGS) | SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
  if (fd < 0) return lp_fail("seccomp", NULL);
  if (lp_send_sync_fd(st->sync, LP_SYNC_SECCOMP_LISTENER, pid, fd) < 0)
    return lp_fail("seccomp: sendmsg of the listener", NULL);
  lp_closep(&fd);
  return lp_wait_resume(st->sync, LP_SYNC_SECCOMP_LISTENER);
}

/* A directory fd leaked from the host would let chdir land outside the root; getcwd then
 * answers "(unreachable)/..." (CVE-2024-21626). */
static int op_chdir(const struct lp_op *op) {
  char cwd[4096];
  if (chdir(S(CHDIR_PATH)) < 0) return lp_fail("chdir", S(CHDIR_PATH));
  if (getcwd(cwd, sizeof(cwd)) == NULL || cwd[0] != '/')
    return lp_fail_errno(ENOENT, "working directory outside the container", S(CHDIR_PATH));
  return 0;
}

static int op_close_fds(const struct lp_op *op) {
  if (U(CLOSE_FDS_FROM) > INT32_MAX) return lp_fail_errno(EINVAL, "close_fds: bad fd", NULL);
  unsigned int from = (unsigned int)U(CLOSE_FDS_FROM);
  if (syscall(SYS_close_range, from, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return 0;
  DIR *d = opendir("/proc/self/fd"); /* kernels before 5.11 */
  if (d == NULL) return lp_fail("opendir", "/proc/self/fd");
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    int fd = atoi(e->d_name);
    if (e->d_name[0] < '0' || e->d_name[0] > '9' || (unsigned int)fd < from || fd == dirfd(d)) continue;
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0) fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
  }
  closedir(d);
  return 0;
}

static int op_open_fifo(struct lp_state *st, const struct lp_op *op) {
  lp_closep(&st->fifo);
  st->fifo = open(S(OPEN_FIFO_PATH), O_PATH | O_CLOEXEC);
  if (st->fifo < 0) return lp_fail("open", S(OPEN_FIFO_PATH));
  st->fifo_path = S(OPEN_FIFO_PATH);
  return 0;
}

/* Opening the FIFO for writing blocks until `start` opens it for reading. */
static int op_wait_start(struct lp_state *st) {
  if (st->fifo < 0) return lp_fail_errno(EBADF, "no OPEN_FIFO before WAIT_START", NULL);
  /* The times of the ops since the fork; this op's start is the end of the last one. */
  if (lp_send_times(st->sync, LP_MSG_READY, 0, 0, st->stamps + st->timed_from, st->timed_from,
                    st->index - st->timed_from + 1) < 0)
    return -1;
  struct fdpath proc = fdpath(st->fifo);
  autoclose int w = -1;
  do w = open(proc.s, O_WRONLY | O_CLOEXEC);
  while (w < 0 && errno == EINTR);
  if (w < 0) return lp_fail("open", st->fifo_path);
  if (write(w, "0", 1) != 1) return lp_fail("write", st->fifo_path);
  lp_closep(&w);
  lp_closep(&st->fifo);
  return 0;
}

static int op_console_fd(struct lp_state *st, const struct lp_op *op) {
  if (U(CONSOLE_FD_FD) > INT32_MAX || fcntl((int)U(CONSOLE_FD_FD), F_SETFD, FD_CLOEXEC) < 0) return lp_fail("fcntl", "console socket fd");
  lp_closep(&st->console);
  st->console = (int)U(CONSOLE_FD_FD);
  return 0;
}

/* A new pty: the master goes to whoever asked for it (closed here after), the slave is returned. */
static int pty_pair(struct lp_state *st, const struct lp_op *op, char *name, size_t size) {
  autoclose int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return lp_fail("open", "/dev/ptmx");
  int e;
  if (unlockpt(master) < 0) return lp_fail("unlockpt", "/dev/ptmx");
  if ((e = ptsname_r(master, name, size)) != 0) return lp_fail_errno(e, "ptsname_r", "/dev/ptmx");
  /* Not close-on-exec: if it lands on 0..2 it is the terminal itself. */
  autoclose int slave = open(name, O_RDWR | O_NOCTTY);
  if (slave < 0) return lp_fail("open", name);
  /* runc's console-socket convention: the slave's name as the data, the master as SCM_RIGHTS. */
  if (U(PTY_MODE) == LP_PTY_CONSOLE ? lp_send_fds(st->console, name, strlen(name), &master, 1) < 0
                                    : lp_send(st->sync, LP_MSG_PTY, NULL, 0, master) < 0)
    return lp_fail("sendmsg", U(PTY_MODE) == LP_PTY_CONSOLE ? "console socket" : "sync socket");
  return lp_take(&slave);
}

static int op_pty(struct lp_state *st, const struct lp_op *op) {
  static char name[128]; /* static: the error record may point at it */
  if (U(PTY_MODE) > LP_PTY_CONSOLE) return lp_fail_errno(EINVAL, "pty: bad mode", NULL);
  if (U(PTY_MODE) == LP_PTY_CONSOLE && st->console < 0) return lp_fail_errno(EBADF, "no CONSOLE_FD before PTY", NULL);
  autoclose int slave = pty_pair(st, op, name, sizeof(name));
  lp_closep(&st->console);
  if (slave < 0) return -1;
  if (setsid() < 0 && errno != EPERM) return lp_fail("setsid", NULL);
  if (ioctl(slave, TIOCSCTTY, 0) < 0) return lp_fail("ioctl TIOCSCTTY", name);
  for (int fd = 0; fd <= 2; fd++)
    if (dup2(slave, fd) < 0) return lp_fail("dup2", name);
  if (slave <= 2) lp_take(&slave); /* it is the terminal now */
  return 0;
}

static int op_set_name(struct lp_state *st, const struct lp_op *op) {
  if (prctl(PR_SET_NAME, (unsigned long)S(SET_NAME_NAME), 0, 0, 0) < 0) return lp_fail("prctl PR_SET_NAME", NULL);
  /* ps reads /proc/<pid>/cmdline: our argv memory, which we may overwrite but not grow. */
  size_t n = LEN(SET_NAME_NAME) < st->title_len ? LEN(SET_NAME_NAME) : st->title_len;
  memcpy(st->title, S(SET_NAME_NAME), n);
  memset(st->title + n, 0, st->title_len - n);
  return 0;
}

/* Tries every candidate ($PATH expanded by TypeScript); the first error that is not ENOENT wins. */
static int op_exec(const struct lp_op *op) {
  int kept = 0;
  const char *kept_path = NULL;
  for (char **c = L(EXEC_CANDIDATES); *c != NULL; c++) {
    execve(*c, L(EXEC_ARGV), L(EXEC_ENV));
    if (errno != ENOENT && kept == 0) {
      kept = errno;
      kept_path = *c;
    }
  }
  lp_err.status = kept == 0 ? 127 : 126;
  if (kept == 0) return lp_fail_errno(ENOENT, "execve", L(EXEC_ARGV)[0] != NULL ? L(EXEC_ARGV)[0] : "");
  return lp_fail_errno(kept, "execve", kept_path);
}

/* runc's check before WAIT_START (Go's LookPath): the first candidate that is not a directory and
 * has an execute bit passes; else the last one's error (stat's, or EACCES). */
static int op_check_exec(const struct lp_op *op) {
  int err = ENOENT;
  const char *last = S(CHECK_EXEC_NAME);
  for (char **c = L(CHECK_EXEC_CANDIDATES); *c != NULL; c++) {
    struct stat sb;
    last = *c;
    if (stat(*c, &sb) < 0) err = errno;
    else if (S_ISDIR(sb.st_mode) || (sb.st_mode & 0111) == 0) err = EACCES;
    else return 0;
  }
  return lp_fail_errno(err, "stat", last);
}

/* A masked directory gets an empty read-only tmpfs; anything else the verified /dev/null. */
static int op_mask(struct lp_state *st, const struct lp_op *op) {
  struct stat sb;
  autoclose int fd = lp_open_in_root(st->root, S(MASK_PATH), O_PATH);
  if (fd < 0) return errno == ENOENT ? 0 : lp_fail("openat2", S(MASK_PATH));
  struct fdpath target = fdpath(fd);
  if (fstat(fd, &sb) < 0) return lp_fail("fstat", S(MASK_PATH));
  if (S_ISDIR(sb.st_mode)) return mount("tmpfs", target.s, "tmpfs", MS_RDONLY, NULL) < 0 ? lp_fail("mount", S(MASK_PATH)) : 0;
  autoclose int null = open("/dev/null", O_PATH | O_CLOEXEC | O_NOFOLLOW);
  if (null < 0) return lp_fail("open", "/dev/null");
  if (fstat(null, &sb) < 0) return lp_fail("fstat", "/dev/null");
  /* A container could have replaced /dev/null with a link to a host file (CVE-2025-31133). */
  if (!S_ISCHR(sb.st_mode) || sb.st_rdev != makedev(1, 3))
    return lp_fail_errno(EACCES, "masking device is not /dev/null", "/dev/null");
  return mount(fdpath(null).s, target.s, NULL, MS_BIND, NULL) < 0 ? lp_fail("mount", S(MASK_PATH)) : 0;
}

/* struct sched_attr from linux/sched/types.h (SCHED_ATTR_SIZE_VER0: no utilization clamps). */
struct lp_sched_attr {
  uint32_t size, policy;
  uint64_t flags;
  int32_t nice;
  uint32_t priority;
  uint64_t runtime, deadline, period;
};

static int op_sched(const struct lp_op *op) {
  struct lp_sched_attr a = {
    .size = sizeof(a),
    .policy = (uint32_t)U(SCHED_POLICY),
    .flags = U(SCHED_FLAGS),
    .nice = (int32_t)(uint32_t)U(SCHED_NICE),
    .priority = (uint32_t)U(SCHED_PRIORITY),
    .runtime = U(SCHED_RUNTIME),
    .deadline = U(SCHED_DEADLINE),
    .period = U(SCHED_PERIOD),
  };
  if (syscall(SYS_sched_setattr, 0, &a, 0) < 0) return lp_fail("sched_setattr", NULL);
  return 0;
}

int lp_run_op(struct lp_state *st, const struct lp_op *op) {
  switch (op->code) {
  case LP_OP_UNSHARE: return op_unshare(op);
  case LP_OP_SETNS: return op_setns(op);
  case LP_OP_SYNC: return op_sync(st, op);
  case LP_OP_FORK_PID1: return op_fork_pid1(st, op);
  case LP_OP_JOIN_CGROUP: return op_join_cgroup(op);
  case LP_OP_WRITE_PROC: return op_write_proc(op);
  case LP_OP_SET_ROOT: return op_set_root(st, op);
  case LP_OP_MOUNT: return op_mount(st, op);
  case LP_OP_MKNOD: return op_mknod(st, op);
  case LP_OP_SYMLINK: return op_symlink(st, op);
  case LP_OP_PIVOT_ROOT: return op_pivot_root(st, op);
  case LP_OP_SETHOSTNAME: return sethostname(S(SETHOSTNAME_NAME), LEN(SETHOSTNAME_NAME)) < 0 ? lp_fail("sethostname", S(SETHOSTNAME_NAME)) : 0;
  case LP_OP_SETDOMAINNAME: return setdomainname(S(SETDOMAINNAME_NAME), LEN(SETDOMAINNAME_NAME)) < 0 ? lp_fail("setdomainname", S(SETDOMAINNAME_NAME)) : 0;
  case LP_OP_RLIMIT: return op_rlimit(op);
  case LP_OP_SETGROUPS: return op_setgroups(op);
  case LP_OP_SETID: return op_setid(op);
  case LP_OP_CAP_BOUNDING: return op_cap_bounding(op);
  case LP_OP_CAPS: return op_caps(op);
  case LP_OP_CAP_AMBIENT: return op_cap_ambient(op);
  case LP_OP_PRCTL: return prctl((int)U(PRCTL_OPTION), (unsigned long)U(PRCTL_ARG), 0, 0, 0) < 0 ? lp_fail("prctl", NULL) : 0;
  case LP_OP_SECCOMP: return op_seccomp(op);
  case LP_OP_CHDIR: return op_chdir(op);
  case LP_OP_CLOSE_FDS: return op_close_fds(op);
  case LP_OP_OPEN_FIFO: return op_open_fifo(st, op);
  case LP_OP_WAIT_START: return op_wait_start(st);
  case LP_OP_CONSOLE_FD: return op_console_fd(st, op);
  case LP_OP_PTY: return op_pty(st, op);
  case LP_OP_SETSID: return setsid() < 0 && errno != EPERM ? lp_fail("setsid", NULL) : 0;
  case LP_OP_SET_NAME: return op_set_name(st, op);
  case LP_OP_EXEC: return op_exec(op);
  case LP_OP_CHECK_EXEC: return op_check_exec(op);
  case LP_OP_UMASK: umask((mode_t)(U(UMASK_MASK) & 0777)); return 0;
  case LP_OP_MASK: return op_mask(st, op);
  case LP_OP_PERSONALITY: return personality((unsigned long)U(PERSONALITY_PERSONA)) < 0 ? lp_fail("personality", NULL) : 0;
  /* ioprio_set(IOPRIO_WHO_PROCESS = 1, this process, prio) */
  case LP_OP_IOPRIO: return syscall(SYS_ioprio_set, 1, 0, (int)U(IOPRIO_PRIO)) < 0 ? lp_fail("ioprio_set", NULL) : 0;
  case LP_OP_SCHED: return op_sched(op);
  case LP_OP_RUN_HOOK: return lp_op_run_hook(st, op);
  case LP_OP_KEYRING: return lp_op_keyring(op);
  case LP_OP_MOVE_MOUNT: return lp_op_move_mount(st, op);
  case LP_OP_MOUNT_SETATTR: return lp_op_mount_setattr(st, op);
  case LP_OP_SECCOMP_LISTENER: return op_seccomp_listener(st, op);
  }
  return lp_fail_errno(EINVAL, "unknown op", NULL); /* the parser refuses these already */
}
