/* The new mount API ops (Linux 5.12+): attaching a detached mount the parent prepared (an
 * idmapped bind, made with open_tree + mount_setattr where the parent still has the host's
 * privileges) and changing a mount tree's flags recursively. Targets resolve inside the root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include "args.h"


int lp_op_move_mount(struct lp_state *st, const struct lp_op *op) {
  if (U(MOVE_MOUNT_FD) > INT32_MAX || U(MOVE_MOUNT_FD) < 3) return lp_fail_errno(EBADF, "move_mount: bad fd", S(MOVE_MOUNT_TARGET));
  if (U(MOVE_MOUNT_RESOLVE) != LP_RESOLVE_DIR && U(MOVE_MOUNT_RESOLVE) != LP_RESOLVE_FILE) return lp_fail_errno(EINVAL, "move_mount: bad resolve mode", S(MOVE_MOUNT_TARGET));
  /* Closed on return: attached by then (or failed), the detached tree needs no holder. */
  autoclose int from = (int)U(MOVE_MOUNT_FD);
  autoclose int to = lp_create_in_root(st->root, S(MOVE_MOUNT_TARGET), U(MOVE_MOUNT_RESOLVE) == LP_RESOLVE_FILE);
  if (to < 0) return -1;
  return move_mount(from, "", to, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0
             ? lp_fail("move_mount", S(MOVE_MOUNT_TARGET))
             : 0;
}

int lp_op_mount_setattr(struct lp_state *st, const struct lp_op *op) {
  if (U(MOUNT_SETATTR_SET) > UINT32_MAX || U(MOUNT_SETATTR_CLEAR) > UINT32_MAX || U(MOUNT_SETATTR_RECURSIVE) > 1)
    return lp_fail_errno(EINVAL, "mount_setattr: bad attributes", S(MOUNT_SETATTR_TARGET));
  autoclose int fd = lp_open_in_root(st->root, S(MOUNT_SETATTR_TARGET), O_PATH);
  if (fd < 0) return lp_fail("openat2", S(MOUNT_SETATTR_TARGET));
  struct mount_attr attr = { .attr_set = U(MOUNT_SETATTR_SET), .attr_clr = U(MOUNT_SETATTR_CLEAR) };
  unsigned int flags = AT_EMPTY_PATH | (U(MOUNT_SETATTR_RECURSIVE) ? AT_RECURSIVE : 0);
  return mount_setattr(fd, "", flags, &attr, sizeof(attr)) < 0 ? lp_fail("mount_setattr", S(MOUNT_SETATTR_TARGET)) : 0;
}
