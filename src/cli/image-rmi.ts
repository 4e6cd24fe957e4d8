import { removeImage } from "../image/manage.ts";
import { describe } from "../util/errors.ts";
import { openStore, type Verb } from "./image-common.ts";

export const rmiVerb: Verb = {
  usage: "rmi [-f] NAME|ID...",
  options: { force: { type: "boolean", short: "f" } },
  args: ["name..."],
  async run(g, v, names) {
    using store = openStore(g);
    let failed = 0;
    for (const n of names) {
      try {
        const r = await removeImage(store, n, v["force"] === true);
        for (const t of r.untagged) process.stdout.write(`Untagged: ${t}\n`);
        for (const d of r.deleted) process.stdout.write(`Deleted: ${d}\n`);
      } catch (e) {
        // Keep going with the others, as docker does; the exit status tells.
        process.stderr.write(`leopard: rmi ${n}: ${describe(e)}\n`);
        failed++;
      }
    }
    return failed === 0 ? 0 : 1;
  },
};
