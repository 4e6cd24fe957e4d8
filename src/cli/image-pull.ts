import { parsePlatform } from "../image/oci.ts";
import { Progress } from "../image/progress.ts";
import { pull } from "../image/pull.ts";
import { familiarName } from "../image/reference.ts";
import { openStore, str, TLS_OPTIONS, tlsVerify, type Verb } from "./image-common.ts";

export const pullVerb: Verb = {
  usage: "pull [--platform os/arch[/variant]] [--tls-verify=false] [--authfile FILE] [-q] NAME[:TAG|@DIGEST]",
  options: { ...TLS_OPTIONS, platform: { type: "string" }, quiet: { type: "boolean", short: "q" } },
  args: ["name"],
  async run(g, v, [name]) {
    using store = openStore(g);
    const platform = str(v, "platform");
    const tls = tlsVerify(v);
    const authfile = str(v, "authfile");
    const progress = new Progress({
      tty: process.stderr.isTTY === true,
      write: (s) => process.stderr.write(s),
      quiet: v["quiet"] === true,
    });
    const img = await pull(store, name ?? "", {
      progress,
      ...(platform === undefined ? {} : { platform: parsePlatform(platform) }),
      ...(tls === undefined ? {} : { tlsVerify: tls }),
      ...(authfile === undefined ? {} : { authfile }),
    });
    if (v["quiet"] !== true) {
      const tags = store.meta.tagsOf(img.id).map(familiarName);
      process.stderr.write(`${tags[0] ?? name}: pulled ${img.manifestDigest}\n`);
    }
    process.stdout.write(`${img.id}\n`);
    return 0;
  },
};
