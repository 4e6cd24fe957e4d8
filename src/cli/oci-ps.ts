// `leopard-oci ps [--format table|json] ID [PS OPTIONS...]`: the container's processes.
import { LeopardError } from "../util/errors.ts";
import { out, type Verb } from "./oci-main.ts";

export const psVerb: Verb = {
  usage: "ps [--format table|json] ID [PS OPTIONS...]",
  options: {
    format: {
      type: "string",
      short: "f",
      value: "table|json",
      help: "table (ps's own output) or json (the pids)",
    },
  },
  args: ["id"],
  rest: true,
  async run(g, v, [id], rest) {
    const { psPids, psTable } = await import("../runtime/ps.ts");
    const format = (v["format"] as string | undefined) ?? "table";
    const state = g.state;
    if (format === "json") {
      if (rest.length > 0)
        throw new LeopardError("invalid-argument", "ps options cannot go with --format json");
      await out(`${JSON.stringify(psPids(state, id!))}\n`);
    } else if (format === "table") await out(psTable(state, id!, rest));
    else throw new LeopardError("invalid-argument", `--format "${format}" must be table or json`);
    return 0;
  },
};
