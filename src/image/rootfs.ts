// Root filesystems for containers: an overlay mount of the image's snapshots (lowest last in
// lowerdir) under a writable upper directory, or, where overlayfs is unavailable, a copy with
// the layers applied in order. Recorded in the store, so `rmi` knows the image is in use, and
// removed with the container.
import { existsSync, mkdirSync, readlinkSync, rmSync, symlinkSync } from "node:fs";
import { check, cstr, libc } from "../sys/libc.ts";
import { describe, LeopardError } from "../util/errors.ts";
import type { ImageRecord } from "./db.ts";
import { type Digest, hexOf } from "./digest.ts";
import { applySnapshot } from "./flatten.ts";
import type { Store } from "./store.ts";

export type RootfsKind = "overlay" | "copy";

export interface PreparedRootfs {
  /** The directory to use as the container's root. */
  path: string;
  kind: RootfsKind;
  /** Unmounts and removes everything made for the container. Idempotent. */
  cleanup(): Promise<void>;
}

export interface RootfsOptions {
  /** "auto" (default) tries overlay, then copies. */
  mode?: RootfsKind | "auto";
}

const MNT_DETACH = 2;
const EINVAL = 22;
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** mount(2) data is one page; past this, lower directories go by short links. */
const MAX_MOUNT_DATA = 4000;

/**
 * Short names for snapshot directories (<root>/l/<12 hex>), as podman does, so images with
 * many layers still fit in one overlay mount's options.
 */
function shortLower(store: Store, chain: Digest[]): string[] {
  mkdirSync(`${store.root}/l`, { recursive: true, mode: 0o700 });
  return chain.map((c) => {
    const link = `${store.root}/l/${hexOf(c).slice(0, 12)}`;
    const target = `../snapshots/${hexOf(c)}/fs`;
    try {
      symlinkSync(target, link);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || readlinkSync(link) !== target) throw e;
    }
    return link;
  });
}

function mountOverlay(store: Store, chain: Digest[], upper: string, work: string, target: string): void {
  const top = [...chain].reverse();
  // Unprivileged unpacks mark whiteouts and opaque directories with user.overlay.* xattrs.
  const rest = `upperdir=${upper},workdir=${work}${store.unpackOptions.rootless ? ",userxattr" : ""}`;
  let data = `lowerdir=${top.map((c) => store.snapshotPath(c)).join(":")},${rest}`;
  if (data.length > MAX_MOUNT_DATA) data = `lowerdir=${shortLower(store, top).join(":")},${rest}`;
  if (data.length > MAX_MOUNT_DATA)
    throw new LeopardError("unsupported", "too many layers for one overlay mount");
  check(libc().mount(cstr("overlay"), cstr(target), cstr("overlay"), 0n, cstr(data)), "mount", target);
}

function unmount(target: string): void {
  const r = libc().umount2(cstr(target), MNT_DETACH);
  if (r !== 0) {
    try {
      check(r, "umount2", target);
    } catch (e) {
      // EINVAL: not a mount point (never mounted, or already gone).
      if ((e as { errno?: number }).errno !== EINVAL) throw e;
    }
  }
}

/**
 * Makes the root filesystem of container containerId from image (a name, id or record).
 * Refuses an id that already has one.
 */
export async function prepareRootfs(
  store: Store,
  image: string | ImageRecord,
  containerId: string,
  opts: RootfsOptions = {},
): Promise<PreparedRootfs> {
  if (!CONTAINER_ID.test(containerId))
    throw new LeopardError("invalid-argument", `container id "${containerId}" is not valid`);
  const img = typeof image === "string" ? store.resolve(image) : image;
  const dir = `${store.root}/containers/${containerId}`;
  if (store.meta.rootfs(containerId) !== undefined || existsSync(dir)) {
    throw new LeopardError("exists", `container "${containerId}" already has a root filesystem`);
  }
  mkdirSync(dir, { mode: 0o700 });
  const lower = [...img.chain].reverse().map((c) => store.snapshotPath(c));
  for (const l of lower) {
    if (!existsSync(l))
      throw new LeopardError("not-found", `snapshot "${l}" of image "${img.id}" is missing`);
  }
  let kind: RootfsKind | undefined;
  let path = `${dir}/merged`;
  try {
    if (opts.mode !== "copy") {
      try {
        for (const d of ["upper", "work", "merged"]) mkdirSync(`${dir}/${d}`, { mode: 0o755 });
        mountOverlay(store, img.chain, `${dir}/upper`, `${dir}/work`, path);
        kind = "overlay";
      } catch (e) {
        if (opts.mode === "overlay") {
          throw new LeopardError(
            "system",
            `overlay root filesystem for "${containerId}" failed: ${describe(e)}`,
            { cause: e },
          );
        }
        rmSync(`${dir}/upper`, { recursive: true, force: true });
        rmSync(`${dir}/work`, { recursive: true, force: true });
        rmSync(`${dir}/merged`, { recursive: true, force: true });
      }
    }
    if (kind === undefined) {
      path = `${dir}/rootfs`;
      mkdirSync(path, { mode: 0o755 });
      for (const c of img.chain) applySnapshot(store.snapshotPath(c), path, store.unpackOptions);
      kind = "copy";
    }
    store.meta.addRootfs(containerId, img.id, path, kind);
  } catch (e) {
    unmount(`${dir}/merged`);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const k = kind;
  return { path, kind: k, cleanup: () => removeRootfs(store, containerId) };
}

/** Unmounts and removes a container's root filesystem and its record. */
export async function removeRootfs(store: Store, containerId: string): Promise<void> {
  if (!CONTAINER_ID.test(containerId))
    throw new LeopardError("invalid-argument", `container id "${containerId}" is not valid`);
  const dir = `${store.root}/containers/${containerId}`;
  if (existsSync(`${dir}/merged`)) unmount(`${dir}/merged`);
  rmSync(dir, { recursive: true, force: true });
  store.meta.removeRootfs(containerId);
}
