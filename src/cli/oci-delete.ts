// `leopard-oci delete [--force] ID`: removes a stopped container (--force: kills it first).
import type { Verb } from "./oci-main.ts";

export const deleteVerb: Verb = {
  usage: "delete [--force] ID",
  options: { force: { type: "boolean", short: "f", help: "kill a running container first" } },
  args: ["id"],
  async run(g, v, [id]) {
    const { remove } = await import("../runtime/lifecycle.ts");
    await remove(g.state, id!, v["force"] === true);
    return 0;
  },
};
