import { canonicalTag } from "../image/manage.ts";
import { type ArchiveFormat, type SaveItem, save } from "../image/save.ts";
import { LeopardError } from "../util/errors.ts";
import { openStore, str, type Verb } from "./image-common.ts";

export const saveVerb: Verb = {
  usage: "save [-o FILE] [--format docker-archive|oci-archive] NAME...",
  options: { output: { type: "string", short: "o" }, format: { type: "string" } },
  args: ["name..."],
  async run(g, v, names) {
    using store = openStore(g);
    // docker's default is its own archive (what `docker load` takes); OCI with --format oci-archive.
    const format = str(v, "format") ?? "docker-archive";
    if (format !== "oci-archive" && format !== "docker-archive") {
      throw new LeopardError(
        "invalid-argument",
        `--format "${format}" must be oci-archive or docker-archive`,
      );
    }
    const out = str(v, "output") ?? "-";
    if (out === "-" && process.stdout.isTTY === true) {
      throw new LeopardError("invalid-argument", "refusing to write an archive to a terminal; use -o FILE");
    }
    const items: SaveItem[] = names.map((n) => {
      const image = store.resolve(n);
      let tags: string[];
      try {
        const t = canonicalTag(n);
        tags = store.meta.tagsOf(image.id).includes(t) ? [t] : store.meta.tagsOf(image.id);
      } catch {
        // Not a tag (an id or a digest): every tag of the image goes.
        tags = store.meta.tagsOf(image.id);
      }
      return { image, tags };
    });
    await save(store, items, format as ArchiveFormat, out);
    return 0;
  },
};
