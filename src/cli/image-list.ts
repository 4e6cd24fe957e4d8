import { shortId } from "../image/digest.ts";
import { familiarName } from "../image/reference.ts";
import { formatRows, humanSize, isTemplate } from "./format.ts";
import { openStore, str, type Verb } from "./image-common.ts";

function human(n: number): string {
  const u = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)}${u[i]}`;
}

function ago(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "unknown";
  const s = Math.max(0, (Date.now() - t) / 1000);
  for (const [n, unit] of [
    [31536000, "year"],
    [2592000, "month"],
    [86400, "day"],
    [3600, "hour"],
    [60, "minute"],
  ] as const) {
    if (s >= n) {
      const k = Math.floor(s / n);
      return `${k} ${unit}${k > 1 ? "s" : ""} ago`;
    }
  }
  return "just now";
}

export const imagesVerb: Verb = {
  usage: "images [-q] [--digests] [--format table|json|TEMPLATE] [--no-trunc] [REPOSITORY[:TAG]]",
  options: {
    quiet: { type: "boolean", short: "q" },
    format: { type: "string" },
    "no-trunc": { type: "boolean" },
    digests: { type: "boolean" },
  },
  args: ["REPOSITORY?"],
  run(g, v, a) {
    using store = openStore(g);
    // docker's `images REPO[:TAG]`: the images of that repository (and tag).
    const want = a[0];
    const matches = (repo: string, tag: string): boolean => {
      if (want === undefined) return true;
      const c = want.lastIndexOf(":");
      const [r, t] = c > want.lastIndexOf("/") ? [want.slice(0, c), want.slice(c + 1)] : [want, undefined];
      return (
        (repo === r || repo === `docker.io/library/${r}` || repo === `library/${r}`) &&
        (t === undefined || t === tag)
      );
    };
    const rows: { repo: string; tag: string; id: string; digest: string; created: string; size: number }[] =
      [];
    for (const img of store.meta.images()) {
      const tags = store.meta.tagsOf(img.id).map(familiarName);
      const id = v["no-trunc"] === true ? img.id : shortId(img.id);
      const base = { id, digest: img.manifestDigest, created: img.created, size: img.size };
      if (tags.length === 0 && want === undefined) rows.push({ repo: "<none>", tag: "<none>", ...base });
      for (const t of tags) {
        const c = t.lastIndexOf(":");
        if (matches(t.slice(0, c), t.slice(c + 1)))
          rows.push({ repo: t.slice(0, c), tag: t.slice(c + 1), ...base });
      }
    }
    const format = str(v, "format");
    if (isTemplate(format)) {
      const objs = rows.map((r) => ({
        Containers: "N/A",
        CreatedAt: `${new Date(r.created).toISOString().slice(0, 19).replace("T", " ")} +0000 UTC`,
        CreatedSince: ago(r.created),
        Digest: r.digest || "<none>",
        ID: r.id,
        Repository: r.repo,
        SharedSize: "N/A",
        Size: humanSize(r.size),
        Tag: r.tag,
        UniqueSize: "N/A",
        VirtualSize: humanSize(r.size),
      }));
      process.stdout.write(
        formatRows(format, objs, { ID: "IMAGE ID", CreatedSince: "CREATED", CreatedAt: "CREATED AT" }, ""),
      );
      return 0;
    }
    if (v["quiet"] === true) {
      process.stdout.write([...new Set(rows.map((r) => r.id))].map((id) => `${id}\n`).join(""));
      return 0;
    }
    const table = [
      ["REPOSITORY", "TAG", ...(v["digests"] === true ? ["DIGEST"] : []), "IMAGE ID", "CREATED", "SIZE"],
    ];
    for (const r of rows)
      table.push([
        r.repo,
        r.tag,
        ...(v["digests"] === true ? [r.digest] : []),
        r.id,
        ago(r.created),
        human(r.size),
      ]);
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => (row[i] ?? "").length)));
    process.stdout.write(
      table
        .map(
          (row) =>
            `${row
              .map((c, i) => c.padEnd(widths[i] ?? 0))
              .join("   ")
              .trimEnd()}\n`,
        )
        .join(""),
    );
    return 0;
  },
};
