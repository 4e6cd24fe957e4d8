// The bundle's root filesystem, checked before anything is created: it must be a directory, and
// /proc and /sys in it must not be symlinks (a symlink there would send the procfs or sysfs
// mount, and every write beneath /proc, somewhere the image chose: CVE-2021-30465, CVE-2023-27561).
import { lstatSync, statSync } from "../sys/fs-sync.ts";
import { LeopardError } from "../util/errors.ts";

export function checkRootfs(rootfs: string): void {
  let isDir = false;
  try {
    isDir = statSync(rootfs).isDirectory();
  } catch {
    // Missing or unreadable: the error below names it.
  }
  if (!isDir)
    throw new LeopardError("invalid-spec", `rootfs "${rootfs}" does not exist or is not a directory`);
  for (const dir of ["/proc", "/sys"]) {
    let link = false;
    try {
      link = lstatSync(rootfs + dir).isSymbolicLink();
    } catch {
      // Absent: the mount creates it inside the root.
    }
    if (link) throw new LeopardError("invalid-spec", `mount destination "${dir}" is a symlink in the rootfs`);
  }
}
