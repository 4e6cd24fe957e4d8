/* leopard-helper SYNCFD: receives one PLAN frame on the sync socket and runs its ops in order.
 * A failing op is reported as one ERROR frame {op index, op code, errno, path, step} and the
 * helper exits 1 (EXEC: 127 when nothing was found, 126 otherwise). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "helper.h"

static int parse_fd(int argc, char **argv) {
  if (argc != 2 || argv[1][0] < '0' || argv[1][0] > '9') return -1;
  char *end;
  errno = 0;
  long fd = strtol(argv[1], &end, 10);
  if (errno != 0 || *end != '\0' || fd > 1000000 || fcntl((int)fd, F_GETFD) < 0) return -1;
  return (int)fd;
}

/* The argv strings are contiguous: SET_NAME may overwrite all of them, never more. */
static void title_area(struct lp_state *st, int argc, char **argv) {
  char *end = argv[0] + strlen(argv[0]);
  for (int i = 1; i < argc && argv[i] == end + 1; i++) end = argv[i] + strlen(argv[i]);
  st->title = argv[0];
  st->title_len = (size_t)(end - argv[0]);
}

int main(int argc, char **argv, char **envp) {
  struct lp_state st = { .sync = -1, .root = -1, .fifo = -1, .console = -1 };
  struct lp_plan plan = { 0, NULL };
  int fd = parse_fd(argc, argv);
  if (fd < 0) {
    fprintf(stderr, "usage: leopard-helper SYNCFD (an open AF_UNIX SOCK_SEQPACKET socket)\n");
    return 1;
  }
  /* First of all, before reading a byte of the plan: run from a sealed copy (CVE-2019-5736). */
  if (lp_ensure_sealed(argv, envp) < 0) goto fail;
  /* Non-dumpable until execve: the container cannot ptrace us or open our /proc files. */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
    lp_fail("prctl PR_SET_DUMPABLE", NULL);
    goto fail;
  }
  /* Out of the way of preserved fds (3, 4, ...) and close-on-exec, so the container never holds
   * it and TypeScript sees EOF at execve. */
  st.sync = fcntl(fd, F_DUPFD_CLOEXEC, LP_HIGH_FD);
  if (st.sync < 0) {
    lp_fail("fcntl F_DUPFD_CLOEXEC", NULL);
    goto fail;
  }
  lp_closep(&fd);
  title_area(&st, argc, argv);
  if (lp_recv_plan(st.sync, &plan) < 0) goto fail;
  st.stamps = calloc((size_t)plan.count + 1, sizeof(uint64_t));
  if (st.stamps == NULL) {
    lp_fail("malloc", NULL);
    goto fail;
  }
  for (uint32_t i = 0; i < plan.count; i++) {
    st.stamps[i] = lp_now();
    st.index = i;
    lp_err.index = i;
    lp_err.code = plan.ops[i].code;
    if (lp_run_op(&st, &plan.ops[i]) < 0) goto fail;
    if (st.exit_now) return st.exit_status;
  }
  return 0;
fail:
  lp_report_error(st.sync >= 0 ? st.sync : fd);
  return lp_err.status;
}
