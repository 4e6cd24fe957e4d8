// pause, resume, update, events: the verbs that act on a container's cgroup.
import { UPDATE_FLAGS } from "../cgroups/update-flags.ts";
import { StateDir } from "../state/state.ts";
import { LeopardError } from "../util/errors.ts";
import type { Options, Verb } from "./oci-main.ts";

const updateOptions: Options = {
  resources: {
    type: "string",
    short: "r",
    value: "FILE|-",
    help: "linux.resources as JSON, from FILE or stdin (-)",
  },
  ...Object.fromEntries(
    UPDATE_FLAGS.map((f) => [
      f,
      { type: "string" as const, value: "V", help: `set ${f} (runc's flag of that name)` },
    ]),
  ),
};

/** runc's duration flags: "5s", "500ms", "1m", or bare seconds. */
function durationMs(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v);
  if (!m) throw new LeopardError("invalid-argument", `--interval "${v}" is not a duration like 5s or 500ms`);
  const n = Number(m[1]);
  return m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : n * 1000;
}

export const CGROUP_VERBS: Record<string, Verb> = {
  pause: {
    usage: "pause ID",
    options: {},
    args: ["id"],
    async run(g, _v, [id]) {
      (await import("../runtime/cgroup-verbs.ts")).pause(new StateDir(g.root), id!);
      return 0;
    },
  },
  resume: {
    usage: "resume ID",
    options: {},
    args: ["id"],
    async run(g, _v, [id]) {
      (await import("../runtime/cgroup-verbs.ts")).resume(new StateDir(g.root), id!);
      return 0;
    },
  },
  update: {
    usage: `update [--resources FILE|-] [--${UPDATE_FLAGS.join(" V] [--")} V] ID`,
    options: updateOptions,
    args: ["id"],
    async run(g, v, [id]) {
      const { resources, ...flags } = v;
      const given = Object.fromEntries(
        Object.entries(flags).filter(([, x]) => typeof x === "string"),
      ) as Record<string, string>;
      if (resources === undefined && Object.keys(given).length === 0) {
        throw new LeopardError("invalid-argument", "update needs --resources FILE|- or a resource flag");
      }
      (await import("../runtime/cgroup-verbs.ts")).update(
        new StateDir(g.root),
        id!,
        resources as string | undefined,
        given,
      );
      return 0;
    },
  },
  events: {
    usage: "events [--stats] [--interval 5s] ID",
    options: {
      stats: { type: "boolean", help: "print the stats once and exit" },
      interval: { type: "string", value: "DURATION", help: "how often to print stats (default 5s)" },
    },
    args: ["id"],
    async run(g, v, [id]) {
      const interval = durationMs((v["interval"] as string | undefined) ?? "5s");
      await (await import("../runtime/cgroup-verbs.ts")).events(
        new StateDir(g.root),
        id!,
        v["stats"] === true,
        interval,
        (line) => process.stdout.write(`${line}\n`),
      );
      return 0;
    },
  },
};
