// `leopard slirp-hook ID [PORT…]`: the createRuntime hook a rootless container with a network of
// its own runs (src/engine/slirp.ts): the runtime gives the container's state on stdin, whose pid
// names the namespaces slirp4netns joins. Not for people: the engine writes it into config.json.
import { defaultRunDir } from "../engine/dirs.ts";
import { parsePortArg, startSlirp } from "../engine/slirp.ts";
import { LeopardError } from "../util/errors.ts";
import type { Verb } from "./image-common.ts";

export const slirpHookVerb: Verb = {
  usage: "slirp-hook ID [HOST_IP:PORT:PORT/PROTO...]",
  options: {},
  args: ["ID", "PORT...?"],
  async run(g, _v, [id, ...ports]) {
    const state = JSON.parse(await Bun.stdin.text()) as { pid?: unknown };
    if (typeof state.pid !== "number" || state.pid <= 0)
      throw new LeopardError("invalid-argument", "slirp-hook: the container state on stdin has no pid");
    await startSlirp(g.run ?? defaultRunDir(), id ?? "", state.pid, ports.map(parsePortArg));
    return 0;
  },
};
