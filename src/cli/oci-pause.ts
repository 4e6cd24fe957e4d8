// `leopard-oci pause ID`: freezes the container's cgroup.
import type { Verb } from "./oci-main.ts";

export const pauseVerb: Verb = {
  usage: "pause ID",
  options: {},
  args: ["id"],
  async run(g, _v, [id]) {
    (await import("../runtime/cgroup-verbs.ts")).pause(g.state, id!);
    return 0;
  },
};
