// `leopard commit CONTAINER [NAME]`: a container's changes as a new layer on its image. The
// layer is the overlay's upper directory (image/dir-layer.ts), without the mount points the
// runtime made where the image had nothing (/etc/hosts, /etc/hostname, /etc/resolv.conf, /proc,
// /sys, /dev, empty); the config is the container's (its command, environment, working
// directory, user, labels, as docker commit takes them) with --change applied on top.
import { existsSync, lstatSync, readdirSync } from "node:fs";
import { applyChanges } from "../image/changes.ts";
import { createImage } from "../image/commit.ts";
import type { ImageRecord } from "../image/db.ts";
import { hexOf } from "../image/digest.ts";
import { layerFromDir } from "../image/dir-layer.ts";
import { parseConfig } from "../image/oci.ts";
import { layeredKind } from "../image/rootfs.ts";
import type { Store } from "../image/store.ts";
import { LeopardError } from "../util/errors.ts";
import type { ContainerRecord } from "./db.ts";
import { callerRootlessIds, type RootlessIds } from "./rootless.ts";

const MOUNT_POINTS = ["etc/hosts", "etc/hostname", "etc/resolv.conf", "proc", "sys", "dev"];

export interface CommitRequest {
  tags: string[];
  changes: string[];
  message?: string | undefined;
  author?: string | undefined;
}

/** Host ids → the container's, through its maps (an id outside them: the overflow id, 65534). */
export function containerOwner(ids: RootlessIds): (uid: number, gid: number) => { uid: number; gid: number } {
  const back = (maps: RootlessIds["uidMappings"], id: number): number => {
    for (const m of maps)
      if (id >= m.hostID && id < m.hostID + m.size) return m.containerID + (id - m.hostID);
    return 65534;
  };
  return (uid, gid) => ({ uid: back(ids.uidMappings, uid), gid: back(ids.gidMappings, gid) });
}

/** Mount points that are empty in upper and absent from every layer of the image. */
function runtimeMade(store: Store, img: ImageRecord, upper: string): Set<string> {
  const out = new Set<string>();
  for (const p of MOUNT_POINTS) {
    const full = `${upper}/${p}`;
    let empty = false;
    try {
      const st = lstatSync(full);
      empty = (st.isFile() && st.size === 0) || (st.isDirectory() && readdirSync(full).length === 0);
    } catch {
      // not there: nothing to leave out
    }
    if (!empty) continue;
    if (img.chain.some((c) => existsSync(`${store.root}/snapshots/${hexOf(c)}/fs/${p}`))) continue;
    out.add(p);
  }
  return out;
}

export async function commitContainer(
  store: Store,
  rec: ContainerRecord,
  req: CommitRequest,
): Promise<ImageRecord> {
  const rootfs = store.meta.rootfs(rec.id);
  if (rootfs === undefined)
    throw new LeopardError("not-found", `container ${rec.name} has no root filesystem`);
  if (rootfs.kind !== "overlay" && !layeredKind(rootfs.kind))
    throw new LeopardError(
      "unsupported",
      `container ${rec.name} has a copied root filesystem; commit needs overlay`,
    );
  // Rootless (the runtime's overlay in the container's user namespace, or fuse-overlayfs in one
  // with the same maps): user.overlay.* marks (fuse-overlayfs's own are read too), and owners
  // mapped back through the container's id maps.
  const userns = layeredKind(rootfs.kind);
  const img = store.resolve(rec.config.image);
  const base = parseConfig(store.readBlob(img.id), `config "${img.id}"`);
  const c = rec.config;
  const config = applyChanges(
    {
      ...(base.config ?? {}),
      Env: c.env,
      Cmd: c.cmd.length > 0 ? c.cmd : null,
      Entrypoint: c.entrypoint.length > 0 ? c.entrypoint : null,
      WorkingDir: c.workingDir,
      User: c.user,
      Labels: Object.keys(c.labels).length > 0 ? c.labels : null,
    },
    req.changes,
  );
  const upper = `${store.root}/containers/${rec.id}/upper`;
  using _w = await store.writerLock();
  {
    const layer = await layerFromDir(store, upper, {
      exclude: runtimeMade(store, img, upper),
      ...(userns ? { overlayXattr: "user" as const, owner: containerOwner(callerRootlessIds()) } : {}),
    });
    const created = new Date().toISOString();
    return await createImage(
      store,
      [
        ...img.layers.map((l) => ({
          digest: l.digest,
          mediaType: l.mediaType,
          size: l.size,
          diffId: l.diffId,
        })),
        layer,
      ],
      {
        architecture: base.architecture,
        os: base.os,
        ...(base.variant ? { variant: base.variant } : {}),
        created,
        ...(req.author ? { author: req.author } : {}),
        config,
        history: [
          ...(base.history ?? []),
          {
            created,
            created_by: [...c.entrypoint, ...c.cmd].join(" "),
            ...(req.message ? { comment: req.message } : {}),
            ...(req.author ? { author: req.author } : {}),
          },
        ],
      },
      { tags: req.tags },
    );
  }
}
