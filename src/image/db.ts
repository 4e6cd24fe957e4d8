// Image metadata in SQLite: images (keyed by config digest), tags, layer snapshots keyed by
// chain ID with reference counts, and the container root filesystems made from images.
import type { Database } from "bun:sqlite";
import { openDatabase } from "../util/sqlite.ts";
import type { Digest } from "./digest.ts";

export interface LayerRecord {
  digest: Digest;
  mediaType: string;
  size: number;
  diffId: Digest;
}

export interface ImageRecord {
  /** The config digest, as docker names images. */
  id: Digest;
  manifestDigest: Digest;
  manifestMediaType: string;
  layers: LayerRecord[];
  chain: Digest[];
  /** Unpacked size of all layers. */
  size: number;
  /** From the config's "created", ISO 8601, or "". */
  created: string;
  /** When it entered this store, ms since the epoch. */
  added: number;
}

export interface SnapshotRecord {
  chainId: Digest;
  parent: Digest | null;
  diffId: Digest;
  size: number;
  refs: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS images (
  id TEXT PRIMARY KEY, manifest_digest TEXT NOT NULL, manifest_media_type TEXT NOT NULL,
  layers TEXT NOT NULL, chain TEXT NOT NULL, size INTEGER NOT NULL, created TEXT NOT NULL,
  added INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tags (name TEXT PRIMARY KEY, image_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS tags_image ON tags(image_id);
CREATE TABLE IF NOT EXISTS snapshots (
  chain_id TEXT PRIMARY KEY, parent TEXT, diff_id TEXT NOT NULL, size INTEGER NOT NULL,
  refs INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS rootfs (
  container_id TEXT PRIMARY KEY, image_id TEXT NOT NULL, path TEXT NOT NULL, kind TEXT NOT NULL);
`;

interface ImageRow {
  id: string;
  manifest_digest: string;
  manifest_media_type: string;
  layers: string;
  chain: string;
  size: number;
  created: string;
  added: number;
}

function toImage(r: ImageRow): ImageRecord {
  return {
    id: r.id as Digest,
    manifestDigest: r.manifest_digest as Digest,
    manifestMediaType: r.manifest_media_type,
    layers: JSON.parse(r.layers) as LayerRecord[],
    chain: JSON.parse(r.chain) as Digest[],
    size: r.size,
    created: r.created,
    added: r.added,
  };
}

export class MetaDb {
  readonly db: Database;

  constructor(path: string) {
    this.db = openDatabase(path, SCHEMA);
  }

  close(): void {
    this.db.close();
  }

  image(id: string): ImageRecord | undefined {
    const r = this.db.query<ImageRow, [string]>("SELECT * FROM images WHERE id = ?").get(id);
    return r === null ? undefined : toImage(r);
  }

  images(): ImageRecord[] {
    return this.db.query<ImageRow, []>("SELECT * FROM images ORDER BY added DESC").all().map(toImage);
  }

  imagesByPrefix(hexPrefix: string): ImageRecord[] {
    return this.db
      .query<ImageRow, [string]>("SELECT * FROM images WHERE substr(id, 8, length(?1)) = ?1")
      .all(hexPrefix)
      .map(toImage);
  }

  imageByManifest(d: Digest): ImageRecord | undefined {
    const r = this.db.query<ImageRow, [string]>("SELECT * FROM images WHERE manifest_digest = ?").get(d);
    return r === null ? undefined : toImage(r);
  }

  tagTarget(name: string): Digest | undefined {
    const r = this.db
      .query<{ image_id: string }, [string]>("SELECT image_id FROM tags WHERE name = ?")
      .get(name);
    return r === null ? undefined : (r.image_id as Digest);
  }

  tagsOf(id: string): string[] {
    return this.db
      .query<{ name: string }, [string]>("SELECT name FROM tags WHERE image_id = ? ORDER BY name")
      .all(id)
      .map((r) => r.name);
  }

  snapshot(chainId: string): SnapshotRecord | undefined {
    const r = this.db
      .query<
        { chain_id: string; parent: string | null; diff_id: string; size: number; refs: number },
        [string]
      >("SELECT * FROM snapshots WHERE chain_id = ?")
      .get(chainId);
    if (r === null) return undefined;
    return {
      chainId: r.chain_id as Digest,
      parent: r.parent as Digest | null,
      diffId: r.diff_id as Digest,
      size: r.size,
      refs: r.refs,
    };
  }

  addSnapshot(s: Omit<SnapshotRecord, "refs">): void {
    this.db
      .query("INSERT OR IGNORE INTO snapshots (chain_id, parent, diff_id, size, refs) VALUES (?, ?, ?, ?, 0)")
      .run(s.chainId, s.parent, s.diffId, s.size);
  }

  unreferencedSnapshots(): Digest[] {
    return this.db
      .query<{ chain_id: string }, []>("SELECT chain_id FROM snapshots WHERE refs <= 0")
      .all()
      .map((r) => r.chain_id as Digest);
  }

  deleteSnapshot(chainId: string): void {
    this.db.query("DELETE FROM snapshots WHERE chain_id = ? AND refs <= 0").run(chainId);
  }

  /** Records an image (or re-points its tags) and counts its references to snapshots. */
  putImage(img: ImageRecord, tags: string[]): void {
    this.db
      .transaction(() => {
        if (this.image(img.id) === undefined) {
          this.db
            .query(
              "INSERT INTO images (id, manifest_digest, manifest_media_type, layers, chain, size, created, added) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .run(
              img.id,
              img.manifestDigest,
              img.manifestMediaType,
              JSON.stringify(img.layers),
              JSON.stringify(img.chain),
              img.size,
              img.created,
              img.added,
            );
          for (const c of img.chain)
            this.db.query("UPDATE snapshots SET refs = refs + 1 WHERE chain_id = ?").run(c);
        }
        for (const t of tags) this.setTag(t, img.id);
      })
      .immediate();
  }

  setTag(name: string, id: string): void {
    this.db.query("INSERT OR REPLACE INTO tags (name, image_id) VALUES (?, ?)").run(name, id);
  }

  untag(name: string): boolean {
    return this.db.query("DELETE FROM tags WHERE name = ?").run(name).changes > 0;
  }

  /** Deletes an image record and its tags, dropping its snapshot references. */
  deleteImage(id: string): void {
    this.db
      .transaction(() => {
        const img = this.image(id);
        if (img === undefined) return;
        this.db.query("DELETE FROM tags WHERE image_id = ?").run(id);
        this.db.query("DELETE FROM images WHERE id = ?").run(id);
        for (const c of img.chain)
          this.db.query("UPDATE snapshots SET refs = refs - 1 WHERE chain_id = ?").run(c);
      })
      .immediate();
  }

  /** Containers whose root filesystem comes from the image. */
  usersOf(id: string): string[] {
    return this.db
      .query<{ container_id: string }, [string]>("SELECT container_id FROM rootfs WHERE image_id = ?")
      .all(id)
      .map((r) => r.container_id);
  }

  addRootfs(containerId: string, imageId: string, path: string, kind: string): void {
    this.db
      .query("INSERT INTO rootfs (container_id, image_id, path, kind) VALUES (?, ?, ?, ?)")
      .run(containerId, imageId, path, kind);
  }

  removeRootfs(containerId: string): void {
    this.db.query("DELETE FROM rootfs WHERE container_id = ?").run(containerId);
  }

  rootfs(containerId: string): { imageId: string; path: string; kind: string } | undefined {
    const r = this.db
      .query<{ image_id: string; path: string; kind: string }, [string]>(
        "SELECT image_id, path, kind FROM rootfs WHERE container_id = ?",
      )
      .get(containerId);
    return r === null ? undefined : { imageId: r.image_id, path: r.path, kind: r.kind };
  }
}
