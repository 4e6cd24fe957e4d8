/* seccomp-agent SOCKET LOG ERRNO: a small seccomp agent for the SCMP_ACT_NOTIFY tests. Listens on
 * the unix stream socket SOCKET; each connection brings a container process state (JSON) and a
 * listener fd (SCM_RIGHTS), and the state is appended to LOG as one line (with the number of fds
 * that came along). Then it answers that listener's notifications: mkdir and mkdirat as done
 * (success, nothing made), any other syscall with -ERRNO. Runs until killed. Built statically by
 * test/integration/seccomp-notify.test.ts. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_LISTENERS 32

static void die(const char *what) {
  perror(what);
  exit(1);
}

/* Whether json[0..len) is one whole JSON object: the state may come in several sendmsg calls,
 * and a runtime may keep the connection open after the last (runc 1.1 does, until it exits). */
static int whole_object(const char *json, size_t len) {
  int depth = 0, in_string = 0;
  for (size_t i = 0; i < len; i++) {
    char c = json[i];
    if (in_string) {
      if (c == '\\') i++;
      else if (c == '"') in_string = 0;
    } else if (c == '"') in_string = 1;
    else if (c == '{') depth++;
    else if (c == '}' && --depth == 0) return 1;
  }
  return 0;
}

/* One connection: the state (up to a whole object or EOF), the fds from the first message.
 * Returns the listener or -1. */
static int take_state(int conn, FILE *log) {
  static char json[65536];
  size_t len = 0;
  int listener = -1, nfds = 0;
  for (;;) {
    union {
      char buf[CMSG_SPACE(4 * sizeof(int))];
      struct cmsghdr align;
    } control;
    struct iovec iov = { json + len, sizeof(json) - 1 - len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };
    ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("recvmsg");
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      for (int i = 0; i < count; i++) {
        int fd;
        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        if (listener < 0) listener = fd;
        else close(fd);
        nfds++;
      }
    }
    if (n == 0) break;
    len += (size_t)n;
    if (len >= sizeof(json) - 1 || whole_object(json, len)) break;
  }
  json[len] = '\0';
  fprintf(log, "{\"receivedFds\":%d,\"state\":%s}\n", nfds, len > 0 ? json : "null");
  fflush(log);
  return listener;
}

static void answer(int listener, int err) {
  struct seccomp_notif_sizes sizes;
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0) die("seccomp GET_NOTIF_SIZES");
  struct seccomp_notif *req = calloc(1, sizes.seccomp_notif);
  struct seccomp_notif_resp *resp = calloc(1, sizes.seccomp_notif_resp);
  if (req == NULL || resp == NULL) die("calloc");
  if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) == 0) {
    int nr = req->data.nr;
    resp->id = req->id;
    resp->val = 0;
    resp->error = nr == SYS_mkdir || nr == SYS_mkdirat ? 0 : -err;
    resp->flags = 0;
    /* ENOENT: the process went away meanwhile. */
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0 && errno != ENOENT) perror("NOTIF_SEND");
  }
  free(req);
  free(resp);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: seccomp-agent SOCKET LOG ERRNO\n");
    return 2;
  }
  int err = atoi(argv[3]);
  FILE *log = fopen(argv[2], "a");
  if (log == NULL) die("fopen");
  int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (srv < 0) die("socket");
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (strlen(argv[1]) >= sizeof(addr.sun_path)) die("socket path too long");
  strcpy(addr.sun_path, argv[1]);
  /* Bound under a temporary name and renamed: the test waits for SOCKET to appear. */
  char tmp[sizeof(addr.sun_path) + 8];
  snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
  struct sockaddr_un taddr = { .sun_family = AF_UNIX };
  if (strlen(tmp) >= sizeof(taddr.sun_path)) die("socket path too long");
  strcpy(taddr.sun_path, tmp);
  unlink(tmp);
  if (bind(srv, (struct sockaddr *)&taddr, sizeof(taddr)) < 0) die("bind");
  if (listen(srv, 8) < 0) die("listen");
  if (rename(tmp, argv[1]) < 0) die("rename");
  struct pollfd fds[1 + MAX_LISTENERS];
  int n = 1;
  fds[0] = (struct pollfd){ .fd = srv, .events = POLLIN };
  for (;;) {
    if (poll(fds, (nfds_t)n, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    for (int i = n - 1; i >= 1; i--) {
      if (fds[i].revents & POLLIN) answer(fds[i].fd, err);
      else if (fds[i].revents & (POLLHUP | POLLERR | POLLNVAL)) { /* every process of the filter is gone */
        close(fds[i].fd);
        fds[i] = fds[--n];
      }
    }
    if (fds[0].revents & POLLIN) {
      int conn = accept4(srv, NULL, NULL, SOCK_CLOEXEC);
      if (conn < 0) continue;
      int listener = take_state(conn, log);
      close(conn);
      if (listener >= 0 && n < 1 + MAX_LISTENERS) fds[n++] = (struct pollfd){ .fd = listener, .events = POLLIN };
      else if (listener >= 0) close(listener);
    }
  }
}
