// `leopard-oci start ID`: lets a created container's process run (it waits at the start FIFO).
import type { Verb } from "./oci-main.ts";

export const startVerb: Verb = {
  usage: "start ID",
  options: {},
  args: ["id"],
  async run(g, _v, [id]) {
    const { start } = await import("../runtime/lifecycle.ts");
    start(g.state, id!);
    return 0;
  },
};
