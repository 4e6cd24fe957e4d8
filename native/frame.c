/* The sync socket: the PLAN frame in, SYNC/PID/READY/ERROR/PTY frames out.
 * Every length is checked against what remains of the datagram before it is read
 * (runc's CVE-2021-43784 was a length overflow in exactly this channel). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"

struct lp_error lp_err = { .index = LP_NO_OP, .status = 1 };

int lp_fail_errno(int err, const char *message, const char *path) {
  lp_err.err = err;
  lp_err.message = message;
  lp_err.path = path;
  return -1;
}

int lp_fail(const char *message, const char *path) {
  return lp_fail_errno(errno, message, path);
}

static int bad(const char *message) {
  return lp_fail_errno(EPROTO, message, NULL);
}

/* ---- little-endian reader over the bytes that remain ---- */

struct rd {
  const uint8_t *p;
  size_t left;
};

static int take(struct rd *r, uint64_t *out, size_t n) {
  if (r->left < n) return -1;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) v |= (uint64_t)r->p[i] << (8 * i);
  r->p += n;
  r->left -= n;
  *out = v;
  return 0;
}

/* u32 len + bytes -> a NUL-terminated copy. Strings ('b') may not contain NUL; data ('d') may. */
static int take_string(struct rd *r, int nul_ok, char **out, uint32_t *len_out) {
  uint64_t len;
  if (take(r, &len, 4) < 0) return bad("frame: string length past the end");
  if (len > LP_MAX_STRING) return bad("frame: string longer than the maximum");
  if (len > r->left) return bad("frame: string length past the end");
  if (!nul_ok && memchr(r->p, 0, len) != NULL) return bad("frame: string contains a NUL byte");
  char *s = malloc(len + 1);
  if (s == NULL) return lp_fail("malloc", NULL);
  memcpy(s, r->p, len);
  s[len] = '\0';
  r->p += len;
  r->left -= len;
  *out = s;
  if (len_out != NULL) *len_out = (uint32_t)len;
  return 0;
}

static int take_arg(struct rd *r, char want, struct lp_arg *a) {
  uint64_t kind;
  if (take(r, &kind, 1) < 0) return bad("frame: argument past the end of its op");
  switch (want) {
  case 'u':
    if (kind != LP_ARG_U64) return bad("frame: wrong argument kind");
    if (take(r, &a->u, 8) < 0) return bad("frame: argument past the end of its op");
    return 0;
  case 'b':
  case 'd':
    if (kind != LP_ARG_BYTES) return bad("frame: wrong argument kind");
    return take_string(r, want == 'd', &a->s, &a->len);
  case 'l': {
    uint64_t count;
    if (kind != LP_ARG_LIST) return bad("frame: wrong argument kind");
    if (take(r, &count, 4) < 0) return bad("frame: list count past the end");
    /* Each element takes at least 4 bytes: this bounds the allocation by the frame size. */
    if (count > r->left / 4) return bad("frame: list count past the end");
    a->list = calloc(count + 1, sizeof(char *));
    if (a->list == NULL) return lp_fail("malloc", NULL);
    a->count = (uint32_t)count;
    for (uint64_t i = 0; i < count; i++)
      if (take_string(r, 0, &a->list[i], NULL) < 0) return -1;
    return 0;
  }
  default:
    return bad("frame: unknown argument kind in the schema");
  }
}

int lp_parse_plan(const uint8_t *payload, size_t len, struct lp_plan *plan) {
  struct rd r = { payload, len };
  uint64_t count;
  if (take(&r, &count, 4) < 0) return bad("frame: op count past the end");
  /* Each op takes at least 8 bytes (code, arg count, arg bytes). */
  if (count > r.left / 8) return bad("frame: op count larger than the payload");
  plan->ops = calloc(count ? count : 1, sizeof(struct lp_op));
  if (plan->ops == NULL) return lp_fail("malloc", NULL);
  plan->count = (uint32_t)count;
  for (uint64_t i = 0; i < count; i++) {
    struct lp_op *op = &plan->ops[i];
    uint64_t code, argc, arglen;
    if (take(&r, &code, 2) < 0 || take(&r, &argc, 2) < 0 || take(&r, &arglen, 4) < 0)
      return bad("frame: op header past the end");
    if (code == 0 || code > LP_OP_MAX || lp_ops[code].name == NULL) return bad("frame: unknown op code");
    const char *schema = lp_ops[code].args;
    if (argc != strlen(schema)) return bad("frame: wrong argument count");
    if (arglen > r.left) return bad("frame: op length past the end");
    struct rd args = { r.p, arglen };
    r.p += arglen;
    r.left -= arglen;
    op->code = (uint16_t)code;
    op->a = calloc(argc ? argc : 1, sizeof(struct lp_arg));
    if (op->a == NULL) return lp_fail("malloc", NULL);
    for (uint64_t j = 0; j < argc; j++)
      if (take_arg(&args, schema[j], &op->a[j]) < 0) return -1;
    if (args.left != 0) return bad("frame: op length does not match its arguments");
  }
  if (r.left != 0) return bad("frame: trailing bytes after the last op");
  return 0;
}

static ssize_t recv_retry(int sock, void *buf, size_t len, int flags) {
  ssize_t n;
  do n = recv(sock, buf, len, flags);
  while (n < 0 && errno == EINTR);
  return n;
}

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p) {
  return (uint16_t)(p[0] | p[1] << 8);
}

static void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

/* Checks magic, version, type and that the declared payload length is the datagram's. */
static int check_header(const uint8_t *buf, size_t size, uint16_t type) {
  if (le32(buf) != LP_MAGIC) return bad("frame: bad magic");
  if (le16(buf + 4) != LP_PROTOCOL_VERSION) return bad("frame: unsupported protocol version");
  if (le16(buf + 6) != type) return bad("frame: unexpected message type");
  if (le32(buf + 8) != size - LP_HEADER_SIZE) return bad("frame: payload length mismatch");
  return 0;
}

int lp_recv_plan(int sock, struct lp_plan *plan) {
  uint8_t probe;
  /* Peek with MSG_TRUNC: the real datagram size, whatever our buffer. Any fds sent along are
   * dropped by the kernel because we never pass a control buffer. */
  ssize_t n = recv_retry(sock, &probe, 1, MSG_PEEK | MSG_TRUNC);
  if (n < 0) return lp_fail("frame: recv", NULL);
  if (n == 0) return bad("frame: EOF or empty datagram before the plan");
  if ((size_t)n < LP_HEADER_SIZE) return bad("frame: short header");
  if ((size_t)n > LP_MAX_FRAME) return lp_fail_errno(EMSGSIZE, "frame: larger than the maximum", NULL);
  autofree uint8_t *buf = malloc((size_t)n); /* the plan's strings are copies */
  if (buf == NULL) return lp_fail("malloc", NULL);
  ssize_t got = recv_retry(sock, buf, (size_t)n, MSG_TRUNC);
  if (got < 0) return lp_fail("frame: recv", NULL);
  if (got != n) return bad("frame: datagram changed size");
  if (check_header(buf, (size_t)n, LP_MSG_PLAN) < 0) return -1;
  return lp_parse_plan(buf + LP_HEADER_SIZE, (size_t)n - LP_HEADER_SIZE, plan) < 0 ? -1 : 0;
}

/* One frame in one datagram. Leaves lp_err alone; errno on failure. */
int lp_send(int sock, uint16_t type, const void *payload, size_t len, int passfd) {
  autofree uint8_t *buf = malloc(LP_HEADER_SIZE + len);
  if (buf == NULL) return -1;
  put32(buf, LP_MAGIC);
  put16(buf + 4, LP_PROTOCOL_VERSION);
  put16(buf + 6, type);
  put32(buf + 8, (uint32_t)len);
  if (len > 0) memcpy(buf + LP_HEADER_SIZE, payload, len);
  return lp_send_fds(sock, buf, LP_HEADER_SIZE + len, &passfd, passfd >= 0);
}

int lp_send_u32s(int sock, uint16_t type, uint32_t a, uint32_t b, int n) {
  uint8_t p[8];
  put32(p, a);
  put32(p + 4, b);
  if (lp_send(sock, type, p, (size_t)n * 4, -1) < 0) return lp_fail("sync: sendmsg", NULL);
  return 0;
}

/* SYNC{tag, pid} with passfd attached, built on the stack: no malloc, which may call brk or mmap
 * (SECCOMP_LISTENER sends it under a filter nobody answers yet). errno on failure. */
int lp_send_sync_fd(int sock, uint32_t tag, uint32_t pid, int passfd) {
  uint8_t buf[LP_HEADER_SIZE + 8];
  put32(buf, LP_MAGIC);
  put16(buf + 4, LP_PROTOCOL_VERSION);
  put16(buf + 6, LP_MSG_SYNC);
  put32(buf + 8, 8);
  put32(buf + LP_HEADER_SIZE, tag);
  put32(buf + LP_HEADER_SIZE + 4, pid);
  return lp_send_fds(sock, buf, sizeof(buf), &passfd, passfd >= 0);
}

uint64_t lp_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* PID or READY with the op times: [u32 pid], u32 first op index, u32 count, count x u64 stamps
 * (the start of ops first .. first+count-2, then the end of the last). */
int lp_send_times(int sock, uint16_t type, int with_pid, uint32_t pid, const uint64_t *stamps, uint32_t first,
                  uint32_t count) {
  size_t head = with_pid ? 12 : 8, len = head + 8 * (size_t)count;
  autofree uint8_t *p = malloc(len);
  if (p == NULL) return lp_fail("malloc", NULL);
  if (with_pid) put32(p, pid);
  put32(p + head - 8, first);
  put32(p + head - 4, count);
  for (uint32_t i = 0; i < count; i++) {
    put32(p + head + 8 * i, (uint32_t)stamps[i]);
    put32(p + head + 8 * i + 4, (uint32_t)(stamps[i] >> 32));
  }
  return lp_send(sock, type, p, len, -1) < 0 ? lp_fail("sync: sendmsg", NULL) : 0;
}

int lp_wait_resume(int sock, uint32_t tag) {
  uint8_t buf[64];
  ssize_t n = recv_retry(sock, buf, sizeof(buf), MSG_TRUNC);
  if (n < 0) return lp_fail("sync: recv", NULL);
  if (n == 0) return lp_fail_errno(EPIPE, "sync: EOF while waiting for RESUME", NULL);
  if ((size_t)n < LP_HEADER_SIZE || (size_t)n > sizeof(buf)) return bad("sync: malformed frame");
  if (check_header(buf, (size_t)n, LP_MSG_RESUME) < 0) return -1;
  if (n != LP_HEADER_SIZE + 4) return bad("sync: RESUME payload is not 4 bytes");
  if (le32(buf + LP_HEADER_SIZE) != tag) return bad("sync: RESUME with the wrong tag");
  return 0;
}

/* Sends the error record; if that fails, one line on stderr. Unread datagrams are discarded
 * first: closing a SEQPACKET socket with data still queued makes the peer's next recv fail with
 * ECONNRESET before it can read the ERROR frame. */
void lp_report_error(int sock) {
  for (int i = 0; sock >= 0 && i < 64 && recv(sock, NULL, 0, MSG_DONTWAIT | MSG_TRUNC) > 0; i++) {
  }
  const char *path = lp_err.path ? lp_err.path : "";
  const char *message = lp_err.message ? lp_err.message : "";
  size_t pl = strnlen(path, LP_ERR_PATH_MAX), ml = strlen(message);
  size_t len = 16 + 4 + pl + 4 + ml;
  autofree uint8_t *p = malloc(len);
  if (p != NULL) {
    put32(p, lp_err.index);
    put16(p + 4, lp_err.code);
    put16(p + 6, 0);
    put32(p + 8, (uint32_t)lp_err.err);
    put32(p + 12, (uint32_t)pl);
    memcpy(p + 16, path, pl);
    put32(p + 16 + pl, (uint32_t)ml);
    memcpy(p + 20 + pl, message, ml);
    if (sock >= 0 && lp_send(sock, LP_MSG_ERROR, p, len, -1) == 0) return;
  }
  const char *op = lp_err.code <= LP_OP_MAX && lp_ops[lp_err.code].name ? lp_ops[lp_err.code].name : "-";
  dprintf(2, "leopard-helper: op %d %s: %s \"%.*s\": %s\n", (int)lp_err.index, op, message, (int)pl, path,
          strerror(lp_err.err));
}
