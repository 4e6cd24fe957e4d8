/* fdpass.c: see common.h. */
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

int lp_send_fds(int sock, const void *data, size_t len, const int *fds, int nfds) {
  struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  /* The union aligns the buffer for struct cmsghdr, as CMSG_FIRSTHDR's result must be. */
  union {
    char buf[CMSG_SPACE(sizeof(int) * LP_PASS_MAX)];
    struct cmsghdr align;
  } control;
  if (nfds < 0 || nfds > LP_PASS_MAX) {
    errno = EINVAL;
    return -1;
  }
  if (nfds > 0) {
    memset(&control, 0, sizeof control);
    m.msg_control = control.buf;
    m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
  }
  ssize_t n;
  do n = sendmsg(sock, &m, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -1 : 0;
}
