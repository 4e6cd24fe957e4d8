// `leopard-oci events [--stats] [--interval 5s] ID`: the container's cgroup stats, once or every interval.
import { LeopardError } from "../util/errors.ts";
import type { Verb } from "./oci-main.ts";

/** runc's duration flags: "5s", "500ms", "1m", or bare seconds. */
function durationMs(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v);
  if (!m) throw new LeopardError("invalid-argument", `--interval "${v}" is not a duration like 5s or 500ms`);
  const n = Number(m[1]);
  return m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : n * 1000;
}

export const eventsVerb: Verb = {
  usage: "events [--stats] [--interval 5s] ID",
  options: {
    stats: { type: "boolean", help: "print the stats once and exit" },
    interval: { type: "string", value: "DURATION", help: "how often to print stats (default 5s)" },
  },
  args: ["id"],
  async run(g, v, [id]) {
    const interval = durationMs((v["interval"] as string | undefined) ?? "5s");
    await (await import("../runtime/cgroup-verbs.ts")).events(
      g.state,
      id!,
      v["stats"] === true,
      interval,
      (line) => process.stdout.write(`${line}\n`),
    );
    return 0;
  },
};
