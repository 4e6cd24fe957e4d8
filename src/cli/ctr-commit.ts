// `leopard commit [-c|--change 'INSTR ARGS']... [-m MESSAGE] [-a AUTHOR] CONTAINER [NAME[:TAG]]`.
import { commitContainer } from "../engine/commit.ts";
import { canonicalTag } from "../image/manage.ts";
import { writeAll } from "../sys/io.ts";
import { openEngine, strs } from "./engine-common.ts";
import { str, type Verb } from "./image-common.ts";

export const commitVerb: Verb = {
  usage: "commit [-c|--change 'INSTRUCTION ARGS']... [-m MESSAGE] [-a AUTHOR] CONTAINER [NAME[:TAG]]",
  options: {
    change: { type: "string", short: "c", multiple: true },
    message: { type: "string", short: "m" },
    author: { type: "string", short: "a" },
    pause: { type: "boolean", short: "p" },
  },
  args: ["container", "name?"],
  async run(g, v, [container, name]) {
    const engine = openEngine(g);
    try {
      const rec = engine.db.get(container ?? "");
      const img = await commitContainer(engine.store, rec, {
        tags: name === undefined ? [] : [canonicalTag(name)],
        changes: strs(v["change"]),
        message: str(v, "message"),
        author: str(v, "author"),
      });
      writeAll(1, `${img.id}\n`);
    } finally {
      engine.close();
    }
    return 0;
  },
};
