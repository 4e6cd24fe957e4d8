import { inspectImage } from "../image/manage.ts";
import { openStore, type Verb } from "./image-common.ts";

export const inspectVerb: Verb = {
  usage: "inspect NAME|ID...",
  options: {},
  args: ["name..."],
  run(g, _v, names) {
    using store = openStore(g);
    const out = names.map((n) => inspectImage(store, store.resolve(n)));
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  },
};
