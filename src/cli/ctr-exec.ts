// `leopard exec [-it] [-d] [-e K=V] [-u USER] [-w DIR] CONTAINER COMMAND...`: a process in a
// running container, through the runtime in-process. Names in -u resolve in the container's
// own /etc/passwd and /etc/group.
import { CommandError } from "../engine/errors.ts";
import { findExecutable, readInRoot } from "../engine/exe.ts";
import { expandEnv } from "../engine/flags.ts";
import { refresh } from "../engine/lifecycle.ts";
import { resolveUser } from "../engine/users.ts";
import { exec } from "../runtime/exec.ts";
import { SYSTEM_PATH } from "../sys/host-tool.ts";
import { LeopardError } from "../util/errors.ts";
import { openEngine, strs } from "./engine-common.ts";
import { str, type Verb } from "./image-common.ts";

export const execVerb: Verb = {
  usage: "exec [-i] [-t] [-d] [-e K=V] [-u USER[:GROUP]] [-w DIR] CONTAINER COMMAND [ARG...]",
  options: {
    interactive: { type: "boolean", short: "i" },
    tty: { type: "boolean", short: "t" },
    detach: { type: "boolean", short: "d" },
    env: { type: "string", multiple: true, short: "e" },
    user: { type: "string", short: "u" },
    workdir: { type: "string", short: "w" },
    privileged: { type: "boolean" },
  },
  args: ["CONTAINER", "COMMAND"],
  rest: true,
  run: async (g, v, a) => {
    const [ref = "", ...argv] = a;
    if (argv.length === 0) throw new LeopardError("invalid-argument", "exec needs a command");
    const engine = openEngine(g);
    try {
      const c = await refresh(engine, engine.db.get(ref));
      if (c.state !== "running" && c.state !== "paused")
        throw new LeopardError("bad-state", `container ${c.name} is not running`);
      if (c.state === "paused")
        throw new LeopardError("bad-state", `container ${c.name} is paused: unpause it first`);
      let user: string | undefined;
      let additionalGids: number[] | undefined;
      const u = str(v, "user");
      if (u !== undefined) {
        const rootfs = engine.rootView(c.id);
        const r = resolveUser(u, readInRoot(rootfs, "/etc/passwd"), readInRoot(rootfs, "/etc/group"));
        user = `${r.uid}:${r.gid}`;
        additionalGids = r.additionalGids;
      }
      // 127/126 as docker's exec reports them, before anything runs.
      const env = c.config.env;
      const path = env.findLast((e) => e.startsWith("PATH="))?.slice(5) ?? SYSTEM_PATH;
      const found = findExecutable(
        engine.rootView(c.id),
        argv[0] ?? "",
        path,
        str(v, "workdir") ?? (c.config.workingDir || "/"),
      );
      if (!found.found) throw new CommandError(found.code, found.why);
      const tty = v["tty"] === true && v["detach"] !== true;
      return await exec({
        id: c.id,
        state: engine.oci,
        detach: v["detach"] === true,
        nullStdio: v["detach"] === true,
        inline: {
          args: argv,
          tty,
          env: expandEnv(strs(v["env"]), process.env),
          ...(user !== undefined ? { user, additionalGids } : {}),
          ...(str(v, "workdir") !== undefined ? { cwd: str(v, "workdir") } : {}),
        },
      });
    } finally {
      engine.close();
    }
  },
};
