/* Paths inside the container's root: every lookup is openat2(root, path, RESOLVE_IN_ROOT), so
 * ".." and symlinks (absolute or relative) are clamped to the root and can never lead to the host
 * (CVE-2021-30465, CVE-2023-27561). Creation happens with *at() calls on directory fds opened
 * that way, and those calls never follow a symlink in their last component. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helper.h"

/* Raw: returns an fd or -1 with errno; does not fill the error record. */
int lp_open_in_root(int root, const char *path, int flags) {
  struct open_how how = {
    .flags = (uint64_t)(flags | O_CLOEXEC),
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  long fd;
  int tries = 0;
  /* EAGAIN: a rename or mount raced the lookup; the kernel asks us to try again. */
  do fd = syscall(SYS_openat2, root, path, &how, sizeof(how));
  while (fd < 0 && (errno == EINTR || (errno == EAGAIN && ++tries < 16)));
  return (int)fd;
}

/* Creates the missing component `name` in dir: a directory (0755), or an empty file (0644). */
static int create_at(int dir, const char *name, int as_file) {
  if (!as_file) return mkdirat(dir, name, 0755);
  autoclose int fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  return fd < 0 ? -1 : 0;
}

/* Opens `path` in the root (O_PATH), creating what is missing: directories, and the last component
 * as a file when as_file. Every prefix is looked up again from the root. A component that exists
 * but does not resolve is a dangling symlink: its target is created inside the root, as runc does
 * for e.g. /etc/resolv.conf -> ../run/systemd/resolve/stub-resolv.conf. */
int lp_create_in_root(int root, const char *path, int as_file) {
  char *p = strdup(path);
  int links = 0, dir = -1;
  const char *step = "openat2";
  if (p == NULL) return lp_fail("malloc", path);
restart:
  dir = lp_open_in_root(root, "/", O_PATH | O_DIRECTORY);
  for (size_t i = 0; dir >= 0;) {
    while (p[i] == '/') i++;
    if (p[i] == '\0') break;
    size_t start = i;
    while (p[i] != '\0' && p[i] != '/') i++;
    size_t after = i;
    while (p[after] == '/') after++;
    int last = p[after] == '\0';
    char save = p[i];
    p[i] = '\0';
    int fd = lp_open_in_root(root, p, O_PATH);
    if (fd < 0 && errno == ENOENT) {
      char target[4096];
      ssize_t n;
      if (create_at(dir, p + start, last && as_file) == 0) fd = lp_open_in_root(root, p, O_PATH);
      else if (errno != EEXIST) step = last && as_file ? "openat" : "mkdirat";
      else if ((n = readlinkat(dir, p + start, target, sizeof(target) - 1)) < 0)
        fd = lp_open_in_root(root, p, O_PATH); /* not a link: created by someone else meanwhile */
      else if (++links > 40) errno = ELOOP;
      else {
        /* Go again from the root with the link's target in place of the link. */
        target[n] = '\0';
        p[i] = save;
        char *q = NULL;
        int len = target[0] == '/' ? asprintf(&q, "%s%s", target, p + i)
                                   : asprintf(&q, "%.*s%s%s", (int)start, p, target, p + i);
        lp_closep(&dir);
        free(p);
        p = q;
        if (len < 0) return lp_fail("malloc", path);
        goto restart;
      }
    }
    p[i] = save;
    lp_closep(&dir); /* errno kept for the step's error */
    dir = fd;
  }
  free(p);
  return dir < 0 ? lp_fail(step, path) : dir;
}

int lp_mkdirs_in_root(int root, const char *path) {
  return lp_create_in_root(root, path, 0);
}

/* Opens (creating) the parent directory of `path` in the root; *base is the last component,
 * to be used with *at() calls that do not follow symlinks. Errors name `path` itself. */
int lp_open_parent_in_root(int root, const char *path, const char **base) {
  const char *slash = strrchr(path, '/');
  const char *b = slash != NULL ? slash + 1 : path;
  if (*b == '\0' || strcmp(b, ".") == 0 || strcmp(b, "..") == 0)
    return lp_fail_errno(EINVAL, "path has no last component", path);
  autofree char *parent = strndup(path, (size_t)(b - path));
  if (parent == NULL) return lp_fail("malloc", path);
  int fd = lp_mkdirs_in_root(root, parent);
  if (fd < 0) lp_err.path = path;
  *base = b;
  return fd;
}
