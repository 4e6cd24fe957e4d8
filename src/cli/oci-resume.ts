// `leopard-oci resume ID`: thaws a paused container's cgroup.
import type { Verb } from "./oci-main.ts";

export const resumeVerb: Verb = {
  usage: "resume ID",
  options: {},
  args: ["id"],
  async run(g, _v, [id]) {
    (await import("../runtime/cgroup-verbs.ts")).resume(g.state, id!);
    return 0;
  },
};
