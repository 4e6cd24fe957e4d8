// `leopard-oci run [-d] [--keep] [create flags] ID`: create, start, and (without -d) wait.

import { CREATE_OPTIONS, createOptions } from "./oci-create.ts";
import type { Verb } from "./oci-main.ts";

export const runVerb: Verb = {
  usage: "run [-d] [--keep] [create flags] ID",
  options: {
    ...CREATE_OPTIONS,
    detach: { type: "boolean", short: "d", help: "start the container and return; do not wait for it" },
    keep: { type: "boolean", help: "keep the container's state after it exits (delete it yourself)" },
    "no-subreaper": { type: "boolean", help: "accepted for runc compatibility" },
  },
  args: ["id"],
  async run(g, v, [id]) {
    const { run } = await import("../runtime/run.ts");
    return run({ ...createOptions(g, v, id!), detach: v["detach"] === true, keep: v["keep"] === true });
  },
};
