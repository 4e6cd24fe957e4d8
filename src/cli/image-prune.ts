import { pruneImages } from "../image/manage.ts";
import { openStore, type Verb } from "./image-common.ts";

export const pruneVerb: Verb = {
  usage: "image prune [-a] [-f]  (untagged images; with -a every image no container uses)",
  options: { all: { type: "boolean", short: "a" }, force: { type: "boolean", short: "f" } },
  args: [],
  async run(g, v) {
    using store = openStore(g);
    const r = await pruneImages(store, v["all"] === true);
    for (const d of r.deleted) process.stdout.write(`Deleted: ${d}\n`);
    process.stdout.write(`Total reclaimed space: ${r.bytes} bytes\n`);
    return 0;
  },
};
