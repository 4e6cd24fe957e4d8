// `leopard-oci update [--resources FILE|-] [--FLAG V...] ID`: changes the container's cgroup limits.
import { UPDATE_FLAGS } from "../cgroups/update-flags.ts";
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

export const updateVerb: Verb = {
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
    (await import("../runtime/cgroup-verbs.ts")).update(g.state, id!, resources as string | undefined, given);
    return 0;
  },
};
