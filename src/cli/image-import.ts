import { rmSync } from "node:fs";
import { importTarball } from "../image/import.ts";
import { canonicalTag } from "../image/manage.ts";
import { openStore, stdinToFile, str, type Verb } from "./image-common.ts";

export const importVerb: Verb = {
  usage: "import [-m MESSAGE] FILE|- [NAME[:TAG]]",
  options: { message: { type: "string", short: "m" } },
  args: ["file", "name?"],
  async run(g, v, [file, name]) {
    using store = openStore(g);
    const path = file === "-" ? await stdinToFile(store) : (file ?? "");
    try {
      const message = str(v, "message");
      const img = await importTarball(store, path, {
        tags: name === undefined ? [] : [canonicalTag(name)],
        ...(message === undefined ? {} : { comment: message }),
      });
      process.stdout.write(`${img.id}\n`);
    } finally {
      if (file === "-") rmSync(path, { force: true });
    }
    return 0;
  },
};
