// The verbs that act on an existing container (start, state, kill, delete, list): what engines
// call most. leopard-oci-light.ts runs just these, in a bundle of their own (the launcher picks
// it for them); leopard-oci.ts has them among the rest.
import { StateDir } from "../state/state.ts";
import { LeopardError } from "../util/errors.ts";
import { out, type Verbs } from "./oci-main.ts";

export const LIGHT_VERBS: Verbs = {
  start: {
    usage: "start ID",
    options: {},
    args: ["id"],
    async run(g, _v, [id]) {
      const { start } = await import("../runtime/lifecycle.ts");
      start(new StateDir(g.root), id!);
      return 0;
    },
  },
  state: {
    usage: "state ID",
    options: {},
    args: ["id"],
    async run(g, _v, [id]) {
      const { stateOf } = await import("../runtime/lifecycle.ts");
      await out(`${JSON.stringify(stateOf(new StateDir(g.root), id!), null, 2)}\n`);
      return 0;
    },
  },
  kill: {
    usage: "kill [--all] ID [SIGNAL]",
    options: {
      all: { type: "boolean", short: "a", help: "signal every process in the container, not only its init" },
    },
    args: ["id", "signal?"],
    async run(g, v, [id, signal]) {
      const { kill } = await import("../runtime/lifecycle.ts");
      kill(new StateDir(g.root), id!, signal ?? "SIGTERM", v["all"] === true);
      return 0;
    },
  },
  delete: {
    usage: "delete [--force] ID",
    options: { force: { type: "boolean", short: "f", help: "kill a running container first" } },
    args: ["id"],
    async run(g, v, [id]) {
      const { remove } = await import("../runtime/lifecycle.ts");
      await remove(new StateDir(g.root), id!, v["force"] === true);
      return 0;
    },
  },
  list: {
    usage: "list [--format table|json] [-q]",
    options: {
      format: { type: "string", short: "f", value: "table|json", help: "the output format" },
      quiet: { type: "boolean", short: "q", help: "print the ids only" },
    },
    args: [],
    async run(g, v) {
      const { list } = await import("../runtime/lifecycle.ts");
      const { formatList } = await import("./list-format.ts");
      const format = (v["format"] as string | undefined) ?? "table";
      if (format !== "table" && format !== "json")
        throw new LeopardError("invalid-argument", `--format "${format}" must be table or json`);
      await out(formatList(list(new StateDir(g.root)), format, v["quiet"] === true));
      return 0;
    },
  },
};
LIGHT_VERBS["ls"] = LIGHT_VERBS["list"]!;
