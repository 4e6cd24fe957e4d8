// `leopard push [--tls-verify=false] [--authfile F] [-q] NAME [DEST]` (src/image/push.ts).
import { push } from "../image/push.ts";
import { writeAll } from "../sys/io.ts";
import { openStore, str, TLS_OPTIONS, tlsVerify, type Verb } from "./image-common.ts";

export const pushVerb: Verb = {
  usage: "push [--tls-verify=false] [--authfile FILE] [-q] NAME [DESTINATION]",
  options: { ...TLS_OPTIONS, quiet: { type: "boolean", short: "q" } },
  args: ["name", "dest?"],
  async run(g, v, [name, dest]) {
    using store = openStore(g);
    const img = store.resolve(name ?? "");
    const quiet = v["quiet"] === true;
    const r = await push(store, img, dest ?? name ?? "", {
      tlsVerify: tlsVerify(v),
      authfile: str(v, "authfile"),
      line: quiet ? undefined : (t) => writeAll(2, `${t}\n`),
    });
    writeAll(1, `${r.digest}\n`);
    return 0;
  },
};
