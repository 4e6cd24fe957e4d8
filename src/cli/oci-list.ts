// `leopard-oci list [--format table|json] [-q]` (also `ls`): the containers under --root.
import { bad } from "./args.ts";
import { out, type Verb } from "./oci-main.ts";

export const listVerb: Verb = {
  usage: "list [--format table|json] [-q]",
  options: {
    format: { type: "string", short: "f", value: "table|json", help: "the output format" },
    quiet: { type: "boolean", short: "q", help: "print the ids only" },
  },
  args: [],
  async run(g, v) {
    const { list } = await import("../runtime/query.ts");
    const { formatList } = await import("./list-format.ts");
    const format = (v["format"] as string | undefined) ?? "table";
    if (format !== "table" && format !== "json") throw bad(`--format "${format}" must be table or json`);
    await out(formatList(list(g.state), format, v["quiet"] === true));
    return 0;
  },
};
