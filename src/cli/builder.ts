// `leopard builder prune`: forgets the build cache (src/build/cache.ts) and removes the layers
// only it kept, as `docker builder prune -a` does.
import { rmSync } from "node:fs";
import { writeAll } from "../sys/io.ts";
import { openStore, type Verb } from "./image-common.ts";

export const builderPruneVerb: Verb = {
  usage: "builder prune [-f] [-a]",
  options: { force: { type: "boolean", short: "f" }, all: { type: "boolean", short: "a" } },
  args: [],
  async run(g) {
    using store = openStore(g);
    const dir = `${store.root}/build-cache`;
    let entries = 0;
    {
      using _w = await store.writerLock();
      const { readdirSync } = await import("node:fs");
      let names: string[] = [];
      try {
        names = readdirSync(dir);
      } catch {
        // no build cache yet: nothing to forget
      }
      for (const n of names) rmSync(`${dir}/${n}`, { force: true });
      entries = names.length;
    }
    const r = await store.collect();
    writeAll(1, `removed ${entries} cache entries; reclaimed ${r.bytes} bytes in ${r.blobs} blobs\n`);
    return 0;
  },
};
