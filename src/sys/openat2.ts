// openat2(2) with RESOLVE_IN_ROOT: a path opened as if `root` were "/", so ".." and absolute
// symlinks inside a container's root filesystem never lead out of it; and with
// RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, for paths an archive names: beneath its root and through
// no symlink at all (ELOOP when one is met, in any component). Node has no openat2: libc's
// syscall(2), through the one binding libc.ts shares.
import { openSync } from "./fs-sync.ts";
import { errno, SysError, sys } from "./libc.ts";
import { closeFd } from "./seqpacket.ts";

const SYS_OPENAT2 = 437;
export const O_PATH = 0o10000000;
export const O_DIRECTORY = 0o200000;
export const O_CLOEXEC = 0o2000000;
export const O_NOFOLLOW = 0o400000;
const RESOLVE_NO_MAGICLINKS = 0x02;
const RESOLVE_NO_SYMLINKS = 0x04;
const RESOLVE_BENEATH = 0x08;
const RESOLVE_IN_ROOT = 0x10;

const EINTR = 4;
const EAGAIN = 11;

function openat2(dirFd: number, path: string, flags: number, resolve: number): number {
  const how = new BigUint64Array([BigInt(flags | O_CLOEXEC), 0n, BigInt(resolve)]);
  const p = Buffer.from(`${path}\0`);
  for (let tries = 0; ; tries++) {
    const fd = Number(sys(SYS_OPENAT2, dirFd, p, how, 24));
    if (fd >= 0) return fd;
    const e = errno();
    // EAGAIN: a rename or mount raced a RESOLVE_IN_ROOT/RESOLVE_BENEATH lookup (a container
    // swapping links while `cp` walks it) and the kernel asks for another try; as the helper
    // does (native/resolve.c), up to 16 times.
    if (e === EINTR || (e === EAGAIN && tries < 16)) continue;
    throw new SysError("openat2", e, path);
  }
}

/** Opens `path` inside `root` (RESOLVE_IN_ROOT); returns the fd (the caller closes it). */
export function openInRoot(root: string, path: string, flags: number): number {
  const rootFd = openSync(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  try {
    return openat2(rootFd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  } finally {
    closeFd(rootFd);
  }
}

/**
 * Opens the relative `path` beneath the directory `dirFd` through no symlink in any component
 * (RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS): ELOOP for a symlink, EXDEV for a way out. Returns the fd
 * (the caller closes it); throws SysError.
 */
export function openBeneath(dirFd: number, path: string, flags: number): number {
  return openat2(dirFd, path, flags, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}
