import { inspectImage } from "../image/manage.ts";
import { renderEach } from "./format.ts";
import { openStore, str, type Verb } from "./image-common.ts";

export const inspectVerb: Verb = {
  usage: "image inspect [-f TEMPLATE] NAME|ID...",
  options: { format: { type: "string", short: "f" } },
  args: ["name..."],
  run(g, v, names) {
    using store = openStore(g);
    const out = names.map((n) => inspectImage(store, store.resolve(n)));
    process.stdout.write(renderEach(str(v, "format"), out));
    return 0;
  },
};
