// Image management: tag, rmi, prune, inspect — docker's rules for which name goes with what.
import { LeopardError } from "../util/errors.ts";
import type { ImageRecord } from "./db.ts";
import { shortId } from "./digest.ts";
import { parseConfig } from "./oci.ts";
import { familiarName, formatReference, parseReference, repoName } from "./reference.ts";
import type { Store } from "./store.ts";

/** Canonical tag for a user-given name ("busybox" → "docker.io/library/busybox:latest"). */
export function canonicalTag(name: string): string {
  const r = parseReference(name);
  if (r.digest !== undefined)
    throw new LeopardError("invalid-argument", `tag "${name}" cannot contain a digest`);
  return formatReference(r);
}

export function tagImage(store: Store, source: string, target: string): ImageRecord {
  const img = store.resolve(source);
  store.meta.setTag(canonicalTag(target), img.id);
  return img;
}

export interface RemoveResult {
  untagged: string[];
  deleted: string[];
}

/**
 * Removes a name or an image. A tag of an image with other tags is only untagged; an image in
 * use by a container, or (by id) one with several tags, is refused without force.
 */
export async function removeImage(store: Store, nameOrId: string, force: boolean): Promise<RemoveResult> {
  const img = store.resolve(nameOrId);
  const tags = store.meta.tagsOf(img.id);
  const out: RemoveResult = { untagged: [], deleted: [] };
  let byTag: string | undefined;
  try {
    const t = canonicalTag(nameOrId);
    if (tags.includes(t)) byTag = t;
  } catch {
    byTag = undefined;
  }
  // By name with other tags left: only that tag goes, forced or not (docker's rule; -f is for
  // an image referenced by several tags when named by id, or used by a container).
  if (byTag !== undefined && tags.length > 1) {
    store.meta.untag(byTag);
    out.untagged.push(familiarName(byTag));
    return out;
  }
  if (byTag === undefined && tags.length > 1 && !force) {
    throw new LeopardError(
      "bad-state",
      `image "${shortId(img.id)}" is referenced by ${tags.length} tags (${tags.map(familiarName).join(", ")}); remove them by name or use --force`,
    );
  }
  const users = store.meta.usersOf(img.id);
  if (users.length > 0 && !force) {
    throw new LeopardError(
      "bad-state",
      `image "${nameOrId}" is used by the container${users.length > 1 ? "s" : ""} ${users.map((u) => `"${u}"`).join(", ")}; use --force to remove it anyway`,
    );
  }
  for (const t of tags) out.untagged.push(familiarName(t));
  store.meta.deleteImage(img.id);
  out.deleted.push(img.id);
  await store.collect();
  return out;
}

/** Removes untagged images (all unused images with all), then unreferenced blobs and snapshots. */
export async function pruneImages(store: Store, all: boolean): Promise<{ deleted: string[]; bytes: number }> {
  const deleted: string[] = [];
  for (const img of store.meta.images()) {
    if (store.meta.usersOf(img.id).length > 0) continue;
    if (!all && store.meta.tagsOf(img.id).length > 0) continue;
    store.meta.deleteImage(img.id);
    deleted.push(img.id);
  }
  const r = await store.collect();
  return { deleted, bytes: r.bytes };
}

/** docker-inspect-shaped description of an image. */
export function inspectImage(store: Store, img: ImageRecord): Record<string, unknown> {
  const config = parseConfig(store.readBlob(img.id), `config "${img.id}"`);
  const tags = store.meta.tagsOf(img.id);
  const repoDigests = [...new Set(tags.map((t) => `${repoName(parseReference(t))}@${img.manifestDigest}`))];
  return {
    Id: img.id,
    RepoTags: tags.map(familiarName),
    RepoDigests: repoDigests.map(familiarName),
    Created: img.created,
    Architecture: config.architecture,
    Os: config.os,
    ...(config.variant === undefined ? {} : { Variant: config.variant }),
    // docker's shape: unset strings are "", unset lists and maps null.
    Config: {
      User: "",
      WorkingDir: "",
      Env: null,
      Cmd: null,
      Entrypoint: null,
      Labels: null,
      ...(config.config ?? {}),
    },
    Size: img.size,
    Manifest: { Digest: img.manifestDigest, MediaType: img.manifestMediaType },
    RootFS: { Type: "layers", Layers: config.rootfs.diff_ids },
    Layers: img.layers.map((l) => ({
      Digest: l.digest,
      MediaType: l.mediaType,
      Size: l.size,
      DiffID: l.diffId,
    })),
    History: config.history ?? [],
  };
}
