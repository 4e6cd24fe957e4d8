// The new mount API (Linux 5.12+) on the host side: open_tree(2) and mount_setattr(2), through
// glibc's wrappers (2.36+). Used by the runtime to prepare idmapped bind mounts before the helper
// starts (src/plan/idmap.ts says why), and by `features` to probe what the kernel supports.
import { dlopen, FFIType, type Pointer, ptr } from "bun:ffi";
import { cstr, errno, SysError } from "./libc.ts";

const { i32, u32, u64, ptr: p } = FFIType;

export const OPEN_TREE_CLONE = 1;
export const OPEN_TREE_CLOEXEC = 0o2000000;
export const AT_RECURSIVE = 0x8000;
export const AT_EMPTY_PATH = 0x1000;
const AT_FDCWD = -100;
const ENOSYS = 38;

let fns:
  | {
      open_tree: (dfd: number, path: Uint8Array, flags: number) => number;
      mount_setattr: (dfd: number, path: Uint8Array, flags: number, attr: Pointer, size: number) => number;
    }
  | undefined;

function api(): NonNullable<typeof fns> {
  if (fns === undefined) {
    const lib = dlopen("libc.so.6", {
      open_tree: { args: [i32, p, u32], returns: i32 },
      mount_setattr: { args: [i32, p, u32, p, u64], returns: i32 },
    });
    // Bound now: binding a symbol on first use (as errno() does) would clobber errno itself.
    errno();
    fns = {
      open_tree: (d, path, f) => lib.symbols.open_tree(d, ptr(path), f),
      mount_setattr: (d, path, f, a, s) => lib.symbols.mount_setattr(d, ptr(path), f, a, s),
    };
  }
  return fns;
}

/** A detached copy of the mount tree at path (with its submounts when recursive); close-on-exec. */
export function openTreeClone(path: string, recursive: boolean): number {
  const fd = api().open_tree(
    AT_FDCWD,
    cstr(path),
    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0),
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
  if (api().mount_setattr(fd, cstr(""), flags, ptr(a), 32) < 0) throw new SysError("mount_setattr", errno());
}

/**
 * Whether the kernel (and libc) have mount_setattr: a call with no valid fd fails with EBADF
 * or EINVAL where it exists, ENOSYS where it does not. Changes nothing.
 */
export function hasMountSetattr(): boolean {
  try {
    const a = new BigUint64Array(4);
    if (api().mount_setattr(-1, cstr(""), AT_EMPTY_PATH, ptr(a), 32) === 0) return true;
    return errno() !== ENOSYS;
  } catch {
    return false;
  }
}
