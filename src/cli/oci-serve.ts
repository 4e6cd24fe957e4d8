// `leopard-oci serve [flags]`: keeps warm workers for the launcher (src/serve/supervisor.ts).
import type { Verb } from "./oci-main.ts";

export const serveVerb: Verb = {
  usage: "serve [--socket PATH] [--workers N] [--idle-exit SECONDS] [--retire-after SECONDS]",
  options: {
    socket: { type: "string", value: "PATH", help: "listen here instead of the default socket" },
    workers: { type: "string", value: "N", help: "warm workers kept idle" },
    "idle-exit": {
      type: "string",
      value: "SECONDS",
      help: "exit after this long without a call (default: never; 300 when socket-activated)",
    },
    "retire-after": { type: "string", value: "SECONDS", help: "stop a surplus worker idle this long" },
  },
  args: [],
  async run(_g, v) {
    return (await import("../serve/supervisor.ts")).serveVerb("leopard-oci", v);
  },
};
