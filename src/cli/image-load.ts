import { rmSync } from "node:fs";
import { load } from "../image/load.ts";
import { parsePlatform } from "../image/oci.ts";
import { familiarName } from "../image/reference.ts";
import { openStore, stdinToFile, str, type Verb } from "./image-common.ts";

export const loadVerb: Verb = {
  usage:
    "load [-i FILE|DIR] [--name NAME] [--platform os/arch]  (a docker archive, OCI archive or OCI layout; stdin without -i)",
  options: {
    input: { type: "string", short: "i" },
    name: { type: "string" },
    platform: { type: "string" },
    quiet: { type: "boolean", short: "q" },
  },
  args: [],
  async run(g, v) {
    using store = openStore(g);
    const input = str(v, "input");
    const path = input === undefined || input === "-" ? await stdinToFile(store) : input;
    try {
      const name = str(v, "name");
      const platform = str(v, "platform");
      const loaded = await load(store, path, {
        ...(name === undefined ? {} : { name }),
        ...(platform === undefined ? {} : { platform: parsePlatform(platform) }),
      });
      for (const l of loaded) {
        if (l.tags.length === 0) process.stdout.write(`Loaded image ID: ${l.image.id}\n`);
        for (const t of l.tags) process.stdout.write(`Loaded image: ${familiarName(t)}\n`);
      }
    } finally {
      if (path !== input) rmSync(path, { force: true });
    }
    return 0;
  },
};
