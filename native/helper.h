/* leopard-helper: executes a launch plan sent by TypeScript, one op after another.
 * It decides nothing; every choice was made by the planner. See src/protocol/ops.ts. */
#ifndef LEOPARD_HELPER_H
#define LEOPARD_HELPER_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "protocol.h"

/* Frame-level errors (before any op runs) carry this op index and op code 0. */
#define LP_NO_OP 0xFFFFFFFFu
/* The sync socket is moved at or above this fd so it never collides with preserved fds. */
#define LP_HIGH_FD 100
/* The longest path copied into an ERROR frame. */
#define LP_ERR_PATH_MAX 4096

/* One decoded argument. Strings and data get NUL-terminated copies; lists end with NULL. */
struct lp_arg {
  uint64_t u;
  char *s;
  uint32_t len;
  char **list;
  uint32_t count;
};

struct lp_op {
  uint16_t code;
  struct lp_arg *a;
};

struct lp_plan {
  uint32_t count;
  struct lp_op *ops;
};

/* The one error record of a failed step; sent as an ERROR frame by the op loop. */
struct lp_error {
  uint32_t index;
  uint16_t code;
  int err;
  const char *path;
  const char *message;
  int status; /* exit status; 1 unless EXEC says 126/127 */
};
extern struct lp_error lp_err;

/* Records errno (or err) with the failing step and path; always returns -1. */
int lp_fail(const char *message, const char *path);
int lp_fail_errno(int err, const char *message, const char *path);

/* frame.c: the sync socket. */
int lp_recv_plan(int sock, struct lp_plan *plan);
int lp_parse_plan(const uint8_t *payload, size_t len, struct lp_plan *plan);
int lp_send(int sock, uint16_t type, const void *payload, size_t len, int passfd);
int lp_send_u32s(int sock, uint16_t type, uint32_t a, uint32_t b, int n);
int lp_send_sync_fd(int sock, uint32_t tag, uint32_t pid, int passfd);
int lp_send_times(int sock, uint16_t type, int with_pid, uint32_t pid, const uint64_t *stamps, uint32_t first,
                  uint32_t count);
uint64_t lp_now(void);
int lp_wait_resume(int sock, uint32_t tag);
void lp_report_error(int sock);

/* resolve.c: paths inside the root, never following a symlink out of it. */
int lp_open_in_root(int root, const char *path, int flags);
int lp_create_in_root(int root, const char *path, int as_file);
int lp_mkdirs_in_root(int root, const char *path);
int lp_open_parent_in_root(int root, const char *path, const char **base);

/* seal.c: re-exec from a sealed memfd copy (CVE-2019-5736). Returns only on error or when sealed. */
int lp_ensure_sealed(char **argv, char **envp);

/* ops.c: the interpreter. */
struct lp_state {
  int sync;
  int root;
  int fifo;
  int console;
  const char *fifo_path; /* for errors in WAIT_START */
  char *title;       /* argv memory that SET_NAME overwrites */
  size_t title_len;
  int exit_now;      /* set by FORK_PID1 in the parent: leave the op loop with exit_status */
  int exit_status;
  uint32_t host_pid; /* our pid as the runtime sees it, from FORK_PID1 (hooks' state) */
  uint64_t *stamps;  /* CLOCK_MONOTONIC ns at the start of each op, for --explain's timings */
  uint32_t index;    /* the op running now */
  uint32_t timed_from; /* the first op this process has not reported yet */
};
int lp_run_op(struct lp_state *st, const struct lp_op *op);

/* hooks.c */
int lp_op_run_hook(struct lp_state *st, const struct lp_op *op);
int lp_op_keyring(const struct lp_op *op);

/* mountapi.c */
int lp_op_move_mount(struct lp_state *st, const struct lp_op *op);
int lp_op_mount_setattr(struct lp_state *st, const struct lp_op *op);

#endif
