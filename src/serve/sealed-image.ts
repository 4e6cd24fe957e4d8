// A program's file as a sealed in-memory copy: a memfd with every seal the helper checks for
// (native/seal.c: no write, grow, shrink or further seal), made once per worker and kept while
// the file on disk is unchanged. The launcher executes the C helper through it (SPAWN's exec
// entry, wire.ts): the helper finds itself sealed already and skips what it does when started
// from its path, a copy of itself into a new memfd and a second execve (CVE-2019-5736). That was
// 2-3 ms of every served create on the project's VM, on the path to the container's start.
import { readFileSync, statSync } from "../sys/fs-sync.ts";
import { writeAll } from "../sys/io.ts";
import { check, cstr, errno, libc } from "../sys/libc.ts";
import { closeFd } from "../sys/seqpacket.ts";

const MFD_CLOEXEC = 0x1;
const MFD_ALLOW_SEALING = 0x2;
/** Executable even under vm.memfd_noexec=1; kernels before 6.3 refuse the flag (EINVAL). */
const MFD_EXEC = 0x10;
const EINVAL = 22;
const F_ADD_SEALS = 1033;
const F_GET_SEALS = 1034;
/** F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE: the set seal.c requires. */
export const ALL_SEALS = 0x1 | 0x2 | 0x4 | 0x8;

interface Image {
  /** The file's identity and version when it was copied: device, inode, size, mtime. */
  key: string;
  fd: number;
}

const images = new Map<string, Image>();

function keyOf(path: string): string {
  const st = statSync(path);
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`;
}

function memfd(name: string): number {
  const fd = libc().memfd_create(cstr(name), MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (fd >= 0 || errno() !== EINVAL) return check(fd, "memfd_create");
  return check(libc().memfd_create(cstr(name), MFD_CLOEXEC | MFD_ALLOW_SEALING), "memfd_create");
}

/** A sealed copy of path's current contents (close-on-exec); throws when one cannot be made. */
export function sealedCopy(path: string): number {
  const fd = memfd("leopard-helper");
  try {
    writeAll(fd, readFileSync(path));
    check(libc().fcntl(fd, F_ADD_SEALS, ALL_SEALS), "fcntl F_ADD_SEALS");
    return fd;
  } catch (e) {
    closeFd(fd);
    throw e;
  }
}

/** The seals on fd (F_GET_SEALS), or -1 when it takes none (not a memfd). */
export function sealsOf(fd: number): number {
  return libc().fcntl(fd, F_GET_SEALS, 0);
}

/**
 * The sealed image of path, made now or kept from an earlier call while the file is the same
 * (device, inode, size, mtime); undefined when none can be made, and the program is then started
 * from its path as before. The fd stays ours: callers pass copies of it and never close it.
 */
export function sealedImage(path: string): number | undefined {
  try {
    const key = keyOf(path);
    const kept = images.get(path);
    if (kept?.key === key) return kept.fd;
    const fd = sealedCopy(path);
    if (kept !== undefined) closeFd(kept.fd);
    images.set(path, { key, fd });
    return fd;
  } catch {
    // No memfd here (or the file is unreadable): the launcher executes the path instead, and the
    // helper makes its own sealed copy, as it does when not served.
    return undefined;
  }
}
