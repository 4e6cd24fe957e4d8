// `leopard push NAME [DEST]`: an image from the store to a registry by the distribution API.
// Each blob (layers, then the config): HEAD — skipped when the registry has it; else, when
// the image also has a name in another repository of the same registry, a cross-repository
// mount (POST ?mount=&from=; 201 means done, 202 an upload session to use instead); else a
// monolithic upload (POST, then PUT ?digest= with the whole blob). The manifest, exactly the
// bytes in the store (so its digest stays), goes last under the tag. Credentials are `login`'s.
import { LeopardError } from "../util/errors.ts";
import { findCredentials } from "./auth.ts";
import type { ImageRecord } from "./db.ts";
import { type Digest, shortId } from "./digest.ts";
import { formatReference, parseReference } from "./reference.ts";
import { Registry } from "./registry.ts";
import type { Store } from "./store.ts";

export interface PushOptions {
  tlsVerify?: boolean | undefined;
  authfile?: string | undefined;
  /** Lines of progress (podman's words). */
  line?: ((text: string) => void) | undefined;
}

export interface PushResult {
  digest: Digest;
  /** Blobs uploaded, mounted from another repository, or already there. */
  uploaded: number;
  mounted: number;
  existing: number;
}

export async function push(
  store: Store,
  img: ImageRecord,
  dest: string,
  opts: PushOptions = {},
): Promise<PushResult> {
  const ref = parseReference(dest);
  if (ref.digest !== undefined && ref.tag === undefined)
    throw new LeopardError("invalid-argument", `push destination "${dest}" needs a tag, not a digest`);
  const tag = ref.tag ?? "latest";
  const repo = ref.repository;
  const creds = findCredentials(ref.registry, opts.authfile);
  const reg = new Registry(ref.registry, {
    ...(opts.tlsVerify === undefined ? {} : { tlsVerify: opts.tlsVerify }),
    ...(creds === undefined ? {} : { credentials: creds }),
  });
  const line = opts.line ?? (() => undefined);
  // Other repositories of this registry the image is known by: candidates to mount from.
  const others = store.meta
    .tagsOf(img.id)
    .map((t) => parseReference(t))
    .filter((r) => r.registry === ref.registry && r.repository !== repo)
    .map((r) => r.repository);
  const out: PushResult = { digest: img.manifestDigest, uploaded: 0, mounted: 0, existing: 0 };
  const blobs: { digest: Digest; what: string }[] = [
    ...img.layers.map((l) => ({ digest: l.digest, what: "blob" })),
    { digest: img.id, what: "config" },
  ];
  for (const b of blobs) {
    if (!store.hasBlob(b.digest))
      throw new LeopardError(
        "not-found",
        `${b.what} "${b.digest}" of image "${shortId(img.id)}" is not in the store`,
      );
    const head = await reg.send("HEAD", `/v2/${repo}/blobs/${b.digest}`, repo, {
      accept: [200, 404],
      what: `${b.what} "${b.digest}"`,
    });
    if (head.status === 200) {
      line(`Copying ${b.what} ${shortId(b.digest)} skipped: already exists`);
      out.existing++;
      continue;
    }
    let location: string | undefined;
    for (const from of others) {
      const r = await reg.send("POST", `/v2/${repo}/blobs/uploads/?mount=${b.digest}&from=${from}`, repo, {
        accept: [201, 202],
        what: `a mount of "${b.digest}" from "${from}"`,
      });
      await r.body?.cancel();
      if (r.status === 201) break;
      location = r.headers.get("location") ?? undefined;
    }
    if (others.length > 0 && location === undefined) {
      line(`Copying ${b.what} ${shortId(b.digest)} mounted from another repository`);
      out.mounted++;
      continue;
    }
    line(`Copying ${b.what} ${shortId(b.digest)}`);
    if (location === undefined) {
      const r = await reg.send("POST", `/v2/${repo}/blobs/uploads/`, repo, {
        accept: [202],
        what: `an upload of "${b.digest}"`,
      });
      await r.body?.cancel();
      location = r.headers.get("location") ?? undefined;
      if (location === undefined)
        throw new LeopardError("protocol", `registry "${ref.registry}" started an upload without a Location`);
    }
    // The Location keeps its own query (the upload's state) and gets ?digest=.
    const target = `${location}${location.includes("?") ? "&" : "?"}digest=${encodeURIComponent(b.digest)}`;
    const file = store.blobPath(b.digest);
    const put = await reg.send("PUT", target, repo, {
      headers: { "Content-Type": "application/octet-stream" },
      body: () => Bun.file(file),
      accept: [201, 204],
      what: `the upload of "${b.digest}"`,
    });
    await put.body?.cancel();
    out.uploaded++;
  }
  const manifest = store.readBlob(img.manifestDigest);
  line(`Writing manifest to ${formatReference({ registry: ref.registry, repository: repo, tag })}`);
  const r = await reg.send("PUT", `/v2/${repo}/manifests/${tag}`, repo, {
    headers: { "Content-Type": img.manifestMediaType },
    body: () => manifest,
    accept: [200, 201, 202],
    what: `the manifest of "${repo}:${tag}"`,
  });
  await r.body?.cancel();
  const said = r.headers.get("docker-content-digest");
  if (said !== null && said !== img.manifestDigest)
    throw new LeopardError(
      "protocol",
      `registry "${ref.registry}" stored the manifest as "${said}", not "${img.manifestDigest}"`,
    );
  return out;
}
