// `leopard-oci kill [--all] ID [SIGNAL]`: signals the container's init (or all its processes).
import type { Verb } from "./oci-main.ts";

export const killVerb: Verb = {
  usage: "kill [--all] ID [SIGNAL]",
  options: {
    all: { type: "boolean", short: "a", help: "signal every process in the container, not only its init" },
  },
  args: ["id", "signal?"],
  async run(g, v, [id, signal]) {
    const { kill } = await import("../runtime/kill.ts");
    kill(g.state, id!, signal ?? "SIGTERM", v["all"] === true);
    return 0;
  },
};
