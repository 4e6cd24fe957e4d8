/* common.h: what the helper and the launcher share.
 *
 * One cleanup style (crun's cleanup_close): an fd declared `autoclose int fd` is closed on every
 * return from its scope, errno kept, so an error path is a plain `return lp_fail(...)`;
 * lp_closep(&fd) closes one early, lp_take(&fd) gives one away. `autofree` frees the same way. */
#ifndef LEOPARD_COMMON_H
#define LEOPARD_COMMON_H

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

static inline void lp_closep(int *fd) {
  int saved = errno;
  if (*fd >= 0) close(*fd);
  *fd = -1;
  errno = saved;
}

static inline int lp_take(int *fd) {
  int f = *fd;
  *fd = -1;
  return f;
}

static inline void lp_freep(void *p) {
  int saved = errno;
  free(*(void **)p);
  errno = saved;
}

#define autoclose __attribute__((cleanup(lp_closep)))
#define autofree __attribute__((cleanup(lp_freep)))

/* The most fds one message carries. */
#define LP_PASS_MAX 64

/* fdpass.c, the one sendmsg that passes fds (SCM_RIGHTS): len bytes with fds[0..nfds) attached
 * (none when nfds is 0), retried on EINTR, never raising SIGPIPE. No malloc: the helper calls it
 * between fork and exec. 0, or -1 and errno. */
int lp_send_fds(int sock, const void *data, size_t len, const int *fds, int nfds);

#endif
