import { rmSync } from "node:fs";
import { applyChanges } from "../image/changes.ts";
import { importTarball } from "../image/import.ts";
import { canonicalTag } from "../image/manage.ts";
import { openStore, stdinToFile, str, type Verb } from "./image-common.ts";

export const importVerb: Verb = {
  usage: "import [-m MESSAGE] [-c|--change 'INSTRUCTION ARGS']... FILE|- [NAME[:TAG]]",
  options: {
    message: { type: "string", short: "m" },
    change: { type: "string", short: "c", multiple: true },
  },
  args: ["file", "name?"],
  async run(g, v, [file, name]) {
    // docker's import: with --change the config is only what the changes say.
    const changes = Array.isArray(v["change"]) ? v["change"] : [];
    const config = changes.length > 0 ? applyChanges({}, changes) : undefined;
    using store = openStore(g);
    const path = file === "-" ? await stdinToFile(store) : (file ?? "");
    try {
      const message = str(v, "message");
      const img = await importTarball(store, path, {
        tags: name === undefined ? [] : [canonicalTag(name)],
        ...(message === undefined ? {} : { comment: message }),
        ...(config === undefined ? {} : { config }),
      });
      process.stdout.write(`${img.id}\n`);
    } finally {
      if (file === "-") rmSync(path, { force: true });
    }
    return 0;
  },
};
