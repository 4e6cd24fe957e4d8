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

#include "args.h"

#define KEYCTL_JOIN_SESSION_KEYRING 1


/* Best effort: a hook need not read its stdin, and the pipe is non-blocking so we never wait on it. */
static void write_state(int fd, const struct lp_op *op, uint32_t pid) {
  char num[16];
  int n = snprintf(num, sizeof(num), "%u", pid);
  const struct {
    const char *p;
    size_t len;
  } parts[] = { { S(RUN_HOOK_STATE_HEAD), LEN(RUN_HOOK_STATE_HEAD) }, { num, (size_t)n }, { S(RUN_HOOK_STATE_TAIL), LEN(RUN_HOOK_STATE_TAIL) } };
  for (size_t i = 0; i < 3; i++)
    if (write(fd, parts[i].p, parts[i].len) != (ssize_t)parts[i].len) return;
}

int lp_op_run_hook(struct lp_state *st, const struct lp_op *op) {
  static char msg[128]; /* static: the error record points at it */
  int p[2];
  msg[0] = '\0';
  if (pipe2(p, O_CLOEXEC) < 0) return lp_fail("pipe2", S(RUN_HOOK_PATH));
  autoclose int rd = p[0];
  autoclose int wr = p[1];
  fcntl(wr, F_SETPIPE_SZ, 1 << 20);
  fcntl(wr, F_SETFL, O_NONBLOCK);
  pid_t pid = fork();
  if (pid < 0) return lp_fail("fork", S(RUN_HOOK_PATH));
  if (pid == 0) { /* the hook: state on stdin, nothing else of ours */
    if (dup2(rd, 0) < 0) _exit(127);
    syscall(SYS_close_range, 3, ~0U, 0);
    execve(S(RUN_HOOK_PATH), L(RUN_HOOK_ARGV), L(RUN_HOOK_ENV));
    _exit(errno == ENOENT ? 127 : 126);
  }
  lp_closep(&rd);
  signal(SIGPIPE, SIG_IGN); /* restored below: an ignored signal would survive execve */
  write_state(wr, op, st->host_pid);
  signal(SIGPIPE, SIG_DFL);
  lp_closep(&wr);
  autoclose int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (U(RUN_HOOK_TIMEOUT_MS) > 0 && pidfd >= 0) {
    struct pollfd w = { .fd = pidfd, .events = POLLIN };
    int r;
    do r = poll(&w, 1, U(RUN_HOOK_TIMEOUT_MS) > INT32_MAX ? -1 : (int)U(RUN_HOOK_TIMEOUT_MS));
    while (r < 0 && errno == EINTR);
    if (r == 0) {
      kill(pid, SIGKILL);
      snprintf(msg, sizeof(msg), "%s hook timed out after %llu ms", S(RUN_HOOK_STAGE), (unsigned long long)U(RUN_HOOK_TIMEOUT_MS));
    }
  }
  lp_closep(&pidfd);
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return lp_fail("waitpid", S(RUN_HOOK_PATH));
  if (msg[0] != '\0') return lp_fail_errno(0, msg, S(RUN_HOOK_PATH));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  if (WIFEXITED(status))
    snprintf(msg, sizeof(msg), "%s hook exited with status %d", S(RUN_HOOK_STAGE), WEXITSTATUS(status));
  else
    snprintf(msg, sizeof(msg), "%s hook killed by signal %d", S(RUN_HOOK_STAGE), WTERMSIG(status));
  return lp_fail_errno(0, msg, S(RUN_HOOK_PATH));
}

int lp_op_keyring(const struct lp_op *op) {
  if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, S(KEYRING_NAME)) < 0) return lp_fail("keyctl KEYCTL_JOIN_SESSION_KEYRING", S(KEYRING_NAME));
  return 0;
}
