// The entry point of `leopard-oci serve` and `leopard serve` as the launcher runs them: a bundle
// of the supervisor alone (build/cli/serve.js), so that a socket-activated server starts its
// first worker sooner and holds less memory than with a whole CLI loaded. argv: the name, then the
// command line as given (global flags, "serve", serve's flags). Both CLIs also have the verb.
import { writeAll } from "../sys/io.ts";
import { describe, LeopardError } from "../util/errors.ts";
import { parseFlags } from "./args.ts";

export const SERVE_OPTIONS = {
  socket: { type: "string" },
  workers: { type: "string" },
  "idle-exit": { type: "string" },
  "retire-after": { type: "string" },
} as const;

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  const prefix = `${name ?? "leopard"}: serve: `;
  try {
    if (name !== "leopard-oci" && name !== "leopard")
      throw new LeopardError("invalid-argument", `"${name}" is not leopard-oci or leopard`);
    const at = rest.indexOf("serve");
    const { values, positionals } = parseFlags(rest.slice(at + 1), SERVE_OPTIONS);
    if (positionals.length > 0)
      throw new LeopardError("invalid-argument", `unexpected argument "${positionals[0]}"`);
    return (await import("../serve/supervisor.ts")).serveVerb(name, values);
  } catch (e) {
    writeAll(2, `${prefix}${describe(e)}\n`);
    return name === "leopard" ? 125 : 1;
  }
}

if (import.meta.main) main(process.argv.slice(2)).then((code) => process.exit(code));
