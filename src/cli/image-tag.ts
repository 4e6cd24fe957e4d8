import { tagImage } from "../image/manage.ts";
import { openStore, type Verb } from "./image-common.ts";

export const tagVerb: Verb = {
  usage: "tag SOURCE TARGET",
  options: {},
  args: ["source", "target"],
  run(g, _v, [source, target]) {
    using store = openStore(g);
    tagImage(store, source ?? "", target ?? "");
    return 0;
  },
};
