// Network namespaces pinned by a bind mount, made without a child process.
//
// Why in-process: a network namespace, unlike a user or mount namespace, may be unshared by one
// thread of a multi-threaded process; unshare(CLONE_NEWNET) moves only the calling thread. So the
// JS thread, in one synchronous stretch no other JS code can interleave with, (1) unshares,
// (2) bind-mounts /proc/thread-self/ns/net onto the pin file — the mount namespace is the host's,
// only the network namespace changed — (3) sets `lo` up through an ioctl on a socket it opened
// inside, then (4) setns()es back to the namespace it saved before. Bun's other threads never
// leave the host namespace. This costs microseconds where `unshare --net=FILE true` plus
// `ip link set lo up` costs two process starts; a failure to return (setns back, which needs only
// the CAP_SYS_ADMIN the unshare just used) is reported as fatal.
import { closeSync, openSync, readlinkSync, unlinkSync } from "./fs-sync.ts";
import { check, cstr, errno, libc } from "./libc.ts";

const CLONE_NEWNET = 0x40000000;
const MS_BIND = 0x1000;
const MS_REC = 0x4000;
const MS_SHARED = 1 << 20;
const MNT_DETACH = 2;
const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const IFF_UP = 1;

/** Sets the flags of interface `name` in the calling thread's network namespace to include UP. */
function linkUp(name: string): void {
  const fd = check(libc().socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket");
  try {
    const ifr = new Uint8Array(40); // struct ifreq: char ifr_name[16]; short ifr_flags; …
    ifr.set(new TextEncoder().encode(name).subarray(0, 15));
    check(libc().ioctl(fd, SIOCGIFFLAGS, ifr), "ioctl(SIOCGIFFLAGS)", name);
    const view = new DataView(ifr.buffer);
    view.setInt16(16, view.getInt16(16, true) | IFF_UP, true);
    check(libc().ioctl(fd, SIOCSIFFLAGS, ifr), "ioctl(SIOCSIFFLAGS)", name);
  } finally {
    libc().close(fd);
  }
}

/**
 * Creates a new network namespace with `lo` up, pinned at `path` (which must not exist; its
 * directory must). On failure nothing is left: no file, no mount.
 */
export function createPinnedNetns(path: string): void {
  closeSync(openSync(path, "wx", 0o444)); // the mount point; EEXIST names a clash
  const home = openSync("/proc/thread-self/ns/net", "r");
  let pinned = false;
  try {
    check(libc().unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)");
    try {
      check(
        libc().mount(cstr("/proc/thread-self/ns/net"), cstr(path), cstr("none"), MS_BIND, null),
        "mount",
        path,
      );
      pinned = true;
      linkUp("lo");
    } finally {
      // Back to the host's namespace before anything else runs on this thread.
      if (libc().setns(home, CLONE_NEWNET) !== 0) {
        const e = errno();
        process.stderr.write(`leopard: setns back to the host network namespace failed: errno ${e}\n`);
        process.exit(125);
      }
    }
  } catch (e) {
    if (pinned) libc().umount2(cstr(path), MNT_DETACH);
    try {
      unlinkSync(path);
    } catch {
      // the pin file may not exist yet; the original error is rethrown
    }
    throw e;
  } finally {
    closeSync(home);
  }
}

/**
 * Unpins and removes a namespace made by createPinnedNetns. The namespace itself goes when its
 * last user (a process, an open fd, another mount) does. Missing or unmounted files are fine.
 */
export function removePinnedNetns(path: string): void {
  // umount2's failure (not mounted, missing) is not examined: errno may be clobbered by the
  // runtime before it can be read. A pin still mounted makes the unlink fail with EBUSY.
  libc().umount2(cstr(path), MNT_DETACH);
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}

/**
 * Makes dir a mount point of its own with shared propagation, as `ip netns` does for /run/netns:
 * pins made later are then visible in mount namespaces copied from the host after this, and an
 * unpin here propagates to them, so a container that inherited the mount table does not keep
 * a removed namespace alive.
 */
export function makeSharedMountPoint(dir: string): void {
  check(libc().mount(cstr(dir), cstr(dir), cstr("none"), MS_BIND | MS_REC, null), "mount", dir);
  check(libc().mount(cstr("none"), cstr(dir), null, MS_SHARED | MS_REC, null), "mount", dir);
}

/** The inode of the calling thread's network namespace (to check it is the host's again). */
export function threadNetnsId(): string {
  return readlinkSync("/proc/thread-self/ns/net");
}
