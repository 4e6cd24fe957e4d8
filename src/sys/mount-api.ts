// The new mount API (Linux 5.12+) on the host side: open_tree(2) and mount_setattr(2), through
// syscall(2) (libc.ts: one binding for all). Used by the runtime to prepare idmapped bind mounts before the helper
// starts (src/plan/idmap.ts says why), and by `features` to probe what the kernel supports.
import { cstr, errno, SysError, sys } from "./libc.ts";

export const OPEN_TREE_CLONE = 1;
export const OPEN_TREE_CLOEXEC = 0o2000000;
export const AT_RECURSIVE = 0x8000;
export const AT_EMPTY_PATH = 0x1000;
const AT_FDCWD = -100;
const ENOSYS = 38;

// open_tree and mount_setattr have the same numbers on x86_64 and arm64 (asm-generic).
const SYS_OPEN_TREE = 428;
const SYS_MOUNT_SETATTR = 442;

/** A detached copy of the mount tree at path (with its submounts when recursive); close-on-exec. */
export function openTreeClone(path: string, recursive: boolean): number {
  const fd = Number(
    sys(
      SYS_OPEN_TREE,
      AT_FDCWD,
      cstr(path),
      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0),
    ),
  );
  if (fd < 0) throw new SysError("open_tree", errno(), path);
  return fd;
}

export interface MountAttr {
  set: number;
  clear: number;
  /** For MOUNT_ATTR_IDMAP: an fd of the user namespace whose maps the mount takes. */
  usernsFd?: number;
}

/** mount_setattr(fd, "", AT_EMPTY_PATH [| AT_RECURSIVE], attr). */
export function mountSetattrFd(fd: number, attr: MountAttr, recursive: boolean): void {
  // struct mount_attr { u64 attr_set, attr_clr, propagation, userns_fd }
  const a = new BigUint64Array([BigInt(attr.set), BigInt(attr.clear), 0n, BigInt(attr.usernsFd ?? 0)]);
  const flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
  if (Number(sys(SYS_MOUNT_SETATTR, fd, cstr(""), flags, a, 32)) < 0)
    throw new SysError("mount_setattr", errno());
}

/**
 * Whether the kernel (and libc) have mount_setattr: a call with no valid fd fails with EBADF
 * or EINVAL where it exists, ENOSYS where it does not. Changes nothing.
 */
export function hasMountSetattr(): boolean {
  try {
    const a = new BigUint64Array(4);
    if (Number(sys(SYS_MOUNT_SETATTR, -1, cstr(""), AT_EMPTY_PATH, a, 32)) === 0) return true;
    return errno() !== ENOSYS;
  } catch {
    return false;
  }
}
