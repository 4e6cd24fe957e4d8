// `leopard-oci spec [--rootless] [--hardened] [-b BUNDLE]`: writes a starting config.json.
import type { Verb } from "./oci-main.ts";

export const specVerb: Verb = {
  usage: "spec [--rootless] [--hardened] [-b BUNDLE]",
  options: {
    bundle: {
      type: "string",
      short: "b",
      value: "DIR",
      help: "where to write config.json (default: the current directory)",
    },
    rootless: {
      type: "boolean",
      help: "a config for an unprivileged user: a user namespace mapping only your id",
    },
    hardened: {
      type: "boolean",
      help: "docker's defaults: seccomp profile, capabilities, no_new_privs, masked paths",
    },
  },
  args: [],
  async run(_g, v) {
    const { writeSpec } = await import("./spec.ts");
    await writeSpec(
      typeof v["bundle"] === "string" ? v["bundle"] : ".",
      v["rootless"] === true,
      v["hardened"] === true,
    );
    return 0;
  },
};
