// `leopard-oci state ID`: the container's state as runtime-spec JSON.
import { out, type Verb } from "./oci-main.ts";

export const stateVerb: Verb = {
  usage: "state ID",
  options: {},
  args: ["id"],
  async run(g, _v, [id]) {
    const { stateOf } = await import("../runtime/query.ts");
    await out(`${JSON.stringify(stateOf(g.state, id!), null, 2)}\n`);
    return 0;
  },
};
