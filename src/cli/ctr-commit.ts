// `leopard commit [-c|--change 'INSTR ARGS']... [-m MESSAGE] [-a AUTHOR] CONTAINER [NAME[:TAG]]`.
import { commitContainer } from "../engine/commit.ts";
import { refresh } from "../engine/lifecycle.ts";
import { canonicalTag } from "../image/manage.ts";
import * as cg from "../runtime/cgroup-verbs.ts";
import { writeAll } from "../sys/io.ts";
import { LeopardError } from "../util/errors.ts";
import { openEngine, strs } from "./engine-common.ts";
import { str, type Verb } from "./image-common.ts";

export const commitVerb: Verb = {
  usage:
    "commit [-c|--change 'INSTRUCTION ARGS']... [-m MESSAGE] [-a AUTHOR] [--pause=true|false] CONTAINER [NAME[:TAG]]",
  options: {
    change: { type: "string", short: "c", multiple: true },
    message: { type: "string", short: "m" },
    author: { type: "string", short: "a" },
    pause: { type: "string", short: "p" },
  },
  args: ["container", "name?"],
  async run(g, v, [container, name]) {
    const engine = openEngine(g);
    try {
      const pause = str(v, "pause") ?? "true";
      if (pause !== "true" && pause !== "false")
        throw new LeopardError("invalid-argument", `--pause "${pause}" must be true or false`);
      const rec = await refresh(engine, engine.db.get(container ?? ""));
      // As docker: a running container is frozen while its changes are read.
      const freeze = pause === "true" && rec.state === "running";
      if (freeze) cg.pause(engine.oci, rec.id);
      try {
        const img = await commitContainer(engine.store, rec, {
          tags: name === undefined ? [] : [canonicalTag(name)],
          changes: strs(v["change"]),
          message: str(v, "message"),
          author: str(v, "author"),
        });
        writeAll(1, `${img.id}\n`);
      } finally {
        if (freeze) cg.resume(engine.oci, rec.id);
      }
    } finally {
      engine.close();
    }
    return 0;
  },
};
