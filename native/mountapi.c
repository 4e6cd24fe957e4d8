/* The new mount API ops (Linux 5.12+): attaching a detached mount the parent prepared (an
 * idmapped bind, made with open_tree + mount_setattr where the parent still has the host's
 * privileges) and changing a mount tree's flags recursively. Targets resolve inside the root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include "helper.h"

#define S(i) (op->a[i].s)
#define U(i) (op->a[i].u)

int lp_op_move_mount(struct lp_state *st, const struct lp_op *op) {
  if (U(0) > INT32_MAX || U(0) < 3) return lp_fail_errno(EBADF, "move_mount: bad fd", S(1));
  if (U(2) != 1 && U(2) != 2) return lp_fail_errno(EINVAL, "move_mount: bad resolve mode", S(1));
  int from = (int)U(0);
  int to = lp_create_in_root(st->root, S(1), U(2) == 2);
  if (to < 0) return -1;
  int rc = move_mount(from, "", to, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0
               ? lp_fail("move_mount", S(1))
               : 0;
  close(to);
  close(from); /* attached now (or failed): the detached tree needs no holder */
  return rc;
}

int lp_op_mount_setattr(struct lp_state *st, const struct lp_op *op) {
  if (U(1) > UINT32_MAX || U(2) > UINT32_MAX || U(3) > 1)
    return lp_fail_errno(EINVAL, "mount_setattr: bad attributes", S(0));
  int fd = lp_open_in_root(st->root, S(0), O_PATH);
  if (fd < 0) return lp_fail("openat2", S(0));
  struct mount_attr attr = { .attr_set = U(1), .attr_clr = U(2) };
  unsigned int flags = AT_EMPTY_PATH | (U(3) ? AT_RECURSIVE : 0);
  int rc = mount_setattr(fd, "", flags, &attr, sizeof(attr)) < 0 ? lp_fail("mount_setattr", S(0)) : 0;
  close(fd);
  return rc;
}
