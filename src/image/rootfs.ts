// Root filesystems for containers: an overlay mount of the image's snapshots (lowest last in
// lowerdir) under a writable upper directory, or, where overlayfs is unavailable, a copy with
// the layers applied in order. Recorded in the store, so `rmi` knows the image is in use, and
// removed with the container.
//
// Rootless ("overlay-userns"): an unprivileged user cannot mount overlayfs on the host, only in
// a user namespace it owns (Linux 5.11). The directories are made here (upper, work, and merged
// as the mount point) and the runtime mounts the overlay inside the container's own user and
// mount namespaces before pivot_root, told by the annotation org.leopard.rootfs.overlay
// (src/config/rootfs-overlay.ts). Copying busybox's ~290 entries cost 39-98 ms per container;
// this costs three mkdirs. Where the kernel refuses (older than 5.11, or a storage filesystem
// overlay cannot use as upper), a probe made once per kernel and storage says so, and the copy
// is used, with the probe's reason in the trace.
//
// Where the kernel refuses, fuse-overlayfs mounts the same directories instead
// ("fuse-overlayfs", src/image/fuse-overlayfs.ts); the copy is the last resort, when
// fuse-overlayfs, /dev/fuse or newuidmap cannot be used (`--debug` says why). The order can be
// forced with LEOPARD_ROOTLESS_ROOTFS (the engine reads it): overlay, fuse-overlayfs or copy.
import { chmodSync, existsSync, mkdirSync, readlinkSync, rmSync, symlinkSync } from "node:fs";
import { check, cstr, libc } from "../sys/libc.ts";
import { describe, LeopardError } from "../util/errors.ts";
import type { ImageRecord } from "./db.ts";
import { type Digest, hexOf } from "./digest.ts";
import { applySnapshot } from "./flatten.ts";
import { fuseOverlayfsMissing, stopFuseRoot } from "./fuse-overlayfs.ts";
import type { Store } from "./store.ts";
import { usernsOverlayRefused } from "./userns-overlay-probe.ts";

export type RootfsKind = "overlay" | "copy" | "overlay-userns" | "fuse-overlayfs";

/** A rootless root filesystem asked for by name (LEOPARD_ROOTLESS_ROOTFS), instead of the fallback order. */
export type RootlessRootfs = "overlay" | "fuse-overlayfs" | "copy";

/** Kinds whose upper directory and layers are read on the host (the merged tree is not mounted there). */
export const layeredKind = (k: string | undefined): boolean =>
  k === "overlay-userns" || k === "fuse-overlayfs";

export interface PreparedRootfs {
  /** The directory to use as the container's root. */
  path: string;
  kind: RootfsKind;
  /**
   * overlay-userns and fuse-overlayfs: the annotation's value, the directories of the overlay
   * (src/config/rootfs-overlay.ts).
   */
  overlay?: string | undefined;
  /** Unmounts and removes everything made for the container. Idempotent. */
  cleanup(): Promise<void>;
}

export interface RootfsOptions {
  /** "auto" (default) tries overlay, then copies. */
  mode?: RootfsKind | "auto";
  /**
   * Rootless, with "auto": the overlay is left to the runtime to mount in the container's user
   * namespace (only a caller that passes the annotation on may ask: the engine's `run`).
   */
  usernsOverlay?: boolean;
  /** With usernsOverlay: this one, not the fallback order (overlay-userns, fuse-overlayfs, copy). */
  rootless?: RootlessRootfs | undefined;
  /** Told, in a sentence, why overlay-userns was not used (fuse-overlayfs or the copy is). */
  onFallback?: (why: string) => void;
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

/** The lowerdir list for chain (lowest first), by short links when the full paths are long. */
function lowerList(store: Store, chain: Digest[], rest: number): string {
  const top = [...chain].reverse();
  const full = top.map((c) => store.snapshotPath(c)).join(":");
  if (full.length + rest <= MAX_MOUNT_DATA) return full;
  const short = shortLower(store, top).join(":");
  if (short.length + rest > MAX_MOUNT_DATA)
    throw new LeopardError("unsupported", "too many layers for one overlay mount");
  return short;
}

/** The annotation's value: lowerdir (topmost first), upperdir, workdir. */
export function overlayAnnotation(store: Store, chain: Digest[], dir: string): string {
  const rest = `,upperdir=${dir}/upper,workdir=${dir}/work,userxattr`;
  return `lowerdir=${lowerList(store, chain, rest.length + 9)},upperdir=${dir}/upper,workdir=${dir}/work`;
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
  let overlay: string | undefined;
  try {
    if (
      opts.mode === "overlay-userns" ||
      (opts.usernsOverlay && store.unpackOptions.rootless && opts.mode !== "copy" && opts.mode !== "overlay")
    ) {
      const use = rootlessKind(store, opts.mode === "overlay-userns" ? "overlay" : opts.rootless, opts);
      if (use !== undefined) {
        for (const d of ["upper", "work", "merged"]) mkdirSync(`${dir}/${d}`, { mode: 0o755 });
        overlay = overlayAnnotation(store, img.chain, dir);
        kind = use;
      }
    } else if (opts.mode !== "copy") {
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
    // Only a host overlay is mounted by now (fuse-overlayfs starts with the container).
    if (kind === "overlay") unmount(`${dir}/merged`);
    else openWorkDir(dir);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const k = kind;
  return { path, kind: k, overlay, cleanup: () => removeRootfs(store, containerId) };
}

/**
 * Which rootless root: the one asked for, else kernel overlay in the user namespace where the
 * probe allows it, else fuse-overlayfs where it can run; undefined for the copy. A driver asked
 * for that cannot run here is an error, not a silent copy.
 */
function rootlessKind(
  store: Store,
  asked: RootlessRootfs | undefined,
  opts: RootfsOptions,
): "overlay-userns" | "fuse-overlayfs" | undefined {
  if (asked === "overlay") return "overlay-userns";
  if (asked === "copy") {
    opts.onFallback?.("root filesystem copied, as LEOPARD_ROOTLESS_ROOTFS=copy asks");
    return undefined;
  }
  const missing = fuseOverlayfsMissing();
  if (asked === "fuse-overlayfs") {
    if (missing !== undefined)
      throw new LeopardError(
        "unsupported",
        `LEOPARD_ROOTLESS_ROOTFS=fuse-overlayfs cannot be used: ${missing}`,
      );
    return "fuse-overlayfs";
  }
  const why = usernsOverlayRefused(store);
  if (why === undefined) return "overlay-userns";
  if (missing === undefined) {
    opts.onFallback?.(`root filesystem on fuse-overlayfs, not overlaid by the kernel: ${why}`);
    return "fuse-overlayfs";
  }
  opts.onFallback?.(
    `root filesystem copied, not overlaid: ${why}; fuse-overlayfs cannot be used: ${missing}`,
  );
  return undefined;
}

/**
 * Overlay leaves work/work (and work/index) with mode 0: root removes them regardless, their
 * unprivileged owner (rootless, overlay-userns) must make them readable first.
 */
function openWorkDir(dir: string): void {
  for (const d of ["work/work", "work/index"]) {
    try {
      chmodSync(`${dir}/${d}`, 0o700);
    } catch {
      // Not there (never mounted, or a copy): nothing to open.
    }
  }
}

/** Unmounts and removes a container's root filesystem and its record. */
export async function removeRootfs(store: Store, containerId: string): Promise<void> {
  if (!CONTAINER_ID.test(containerId))
    throw new LeopardError("invalid-argument", `container id "${containerId}" is not valid`);
  const dir = `${store.root}/containers/${containerId}`;
  // overlay-userns: mounted only in the container's namespaces, gone with them (and an
  // unprivileged umount2 would be EPERM); fuse-overlayfs: in its own, gone when it exits.
  const kind = store.meta.rootfs(containerId)?.kind;
  if (kind === "fuse-overlayfs") await stopFuseRoot(dir);
  else if (!layeredKind(kind) && existsSync(`${dir}/merged`)) unmount(`${dir}/merged`);
  openWorkDir(dir);
  rmSync(dir, { recursive: true, force: true });
  store.meta.removeRootfs(containerId);
}
