// Pinned network namespaces at `<runDir>/netns/<containerId>`. The directory is made a shared
// mount point of its own on first use (as `ip netns` does with /run/netns).
import { mkdirSync, realpathSync } from "node:fs";
import { cstr, libc } from "../sys/libc.ts";
import { createPinnedNetns, makeSharedMountPoint, removePinnedNetns } from "../sys/netns.ts";
import { mountInfo } from "../sys/proc.ts";
import { LeopardError } from "../util/errors.ts";
import { join } from "../util/path.ts";
import { withLock } from "./lock.ts";
import { type NetworkPaths, validateContainerId } from "./paths.ts";

export function netnsPath(paths: NetworkPaths, containerId: string): string {
  return join(paths.netnsDir, containerId);
}

function isMountPoint(dir: string): boolean {
  const real = realpathSync(dir);
  return mountInfo().some((m) => m.mountPoint === real);
}

async function ensureNetnsDir(paths: NetworkPaths): Promise<void> {
  mkdirSync(paths.netnsDir, { recursive: true, mode: 0o755 });
  if (isMountPoint(paths.netnsDir)) return;
  await withLock(join(paths.runDir, "netns.lock"), () => {
    if (!isMountPoint(paths.netnsDir)) makeSharedMountPoint(paths.netnsDir);
  });
}

/**
 * A new network namespace for the container with only `lo` (up), pinned so it outlives every
 * process; returns its path. `--network none` is exactly this.
 */
export async function createNetns(paths: NetworkPaths, containerId: string): Promise<string> {
  validateContainerId(containerId);
  await ensureNetnsDir(paths);
  const p = netnsPath(paths, containerId);
  try {
    createPinnedNetns(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST")
      throw new LeopardError("exists", `network namespace for container "${containerId}" already exists`, {
        path: p,
      });
    throw new LeopardError("system", `create network namespace "${p}": ${(e as Error).message}`, {
      cause: e,
    });
  }
  return p;
}

/** Unpins and deletes a namespace this module made; a missing one is fine. */
export function removeNetns(path: string): void {
  removePinnedNetns(path);
}

/** True when path is a namespace pin under our directory (never touch anything else). */
export function ownsNetns(paths: NetworkPaths, path: string): boolean {
  return path.startsWith(`${paths.netnsDir}/`) && !path.slice(paths.netnsDir.length + 1).includes("/");
}

/** Undoes ensureNetnsDir's self-bind (tests with a temporary run dir call this at the end). */
export function unmountNetnsDir(paths: NetworkPaths): void {
  libc().umount2(cstr(paths.netnsDir), 2 /* MNT_DETACH */);
}
