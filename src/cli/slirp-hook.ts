// `leopard slirp-hook ID pasta|slirp4netns [PORT…]`: the createRuntime hook a rootless container
// with a network of its own runs (src/engine/pasta.ts, src/engine/slirp.ts): the runtime gives the
// container's state on stdin, whose pid names the namespaces pasta or slirp4netns joins. Not for
// people: the engine writes it into config.json (a bundle written before pasta has no program
// named: slirp4netns, as then).
import { defaultRunDir } from "../engine/dirs.ts";
import { parsePortArg, startSlirp } from "../engine/slirp.ts";
import { LeopardError } from "../util/errors.ts";
import type { Verb } from "./image-common.ts";

export const slirpHookVerb: Verb = {
  usage: "slirp-hook ID pasta|slirp4netns [HOST_IP:PORT:PORT/PROTO...]",
  options: {},
  args: ["ID", "PORT...?"],
  async run(g, _v, [id, ...rest]) {
    const state = JSON.parse(await Bun.stdin.text()) as { pid?: unknown };
    if (typeof state.pid !== "number" || state.pid <= 0)
      throw new LeopardError("invalid-argument", "slirp-hook: the container state on stdin has no pid");
    const named = rest[0] === "pasta" || rest[0] === "slirp4netns";
    const ports = (named ? rest.slice(1) : rest).map(parsePortArg);
    const run = g.run ?? defaultRunDir();
    if (named && rest[0] === "pasta")
      await (await import("../engine/pasta.ts")).startPasta(run, id ?? "", state.pid, ports);
    else await startSlirp(run, id ?? "", state.pid, ports);
    return 0;
  },
};
