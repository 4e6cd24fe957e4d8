/* OCI hooks run from inside the container (createContainer, startContainer), and the session
 * keyring. The hook's argv, env, state JSON and timeout were all decided by TypeScript. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"

#define KEYCTL_JOIN_SESSION_KEYRING 1

#define S(i) (op->a[i].s)
#define LEN(i) (op->a[i].len)
#define U(i) (op->a[i].u)
#define L(i) (op->a[i].list)

/* Best effort: a hook need not read its stdin, and the pipe is non-blocking so we never wait on it. */
static void write_state(int fd, const struct lp_op *op, uint32_t pid) {
  char num[16];
  int n = snprintf(num, sizeof(num), "%u", pid);
  const struct {
    const char *p;
    size_t len;
  } parts[] = { { S(3), LEN(3) }, { num, (size_t)n }, { S(4), LEN(4) } };
  for (size_t i = 0; i < 3; i++)
    if (write(fd, parts[i].p, parts[i].len) != (ssize_t)parts[i].len) return;
}

int lp_op_run_hook(struct lp_state *st, const struct lp_op *op) {
  static char msg[128]; /* static: the error record points at it */
  int p[2];
  msg[0] = '\0';
  if (pipe2(p, O_CLOEXEC) < 0) return lp_fail("pipe2", S(0));
  fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
  fcntl(p[1], F_SETFL, O_NONBLOCK);
  pid_t pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return lp_fail("fork", S(0));
  }
  if (pid == 0) { /* the hook: state on stdin, nothing else of ours */
    if (dup2(p[0], 0) < 0) _exit(127);
    syscall(SYS_close_range, 3, ~0U, 0);
    execve(S(0), L(1), L(2));
    _exit(errno == ENOENT ? 127 : 126);
  }
  close(p[0]);
  signal(SIGPIPE, SIG_IGN); /* restored below: an ignored signal would survive execve */
  write_state(p[1], op, st->host_pid);
  signal(SIGPIPE, SIG_DFL);
  close(p[1]);
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (U(5) > 0 && pidfd >= 0) {
    struct pollfd w = { .fd = pidfd, .events = POLLIN };
    int r;
    do r = poll(&w, 1, U(5) > INT32_MAX ? -1 : (int)U(5));
    while (r < 0 && errno == EINTR);
    if (r == 0) {
      kill(pid, SIGKILL);
      snprintf(msg, sizeof(msg), "%s hook timed out after %llu ms", S(6), (unsigned long long)U(5));
    }
  }
  if (pidfd >= 0) close(pidfd);
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return lp_fail("waitpid", S(0));
  if (msg[0] != '\0') return lp_fail_errno(0, msg, S(0));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  if (WIFEXITED(status))
    snprintf(msg, sizeof(msg), "%s hook exited with status %d", S(6), WEXITSTATUS(status));
  else
    snprintf(msg, sizeof(msg), "%s hook killed by signal %d", S(6), WTERMSIG(status));
  return lp_fail_errno(0, msg, S(0));
}

int lp_op_keyring(const struct lp_op *op) {
  if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, S(0)) < 0) return lp_fail("keyctl KEYCTL_JOIN_SESSION_KEYRING", S(0));
  return 0;
}
