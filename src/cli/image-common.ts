// What the image verbs share: the verb shape, the store they open, flag conversions.
import { closeSync, openSync, rmSync, writeSync } from "node:fs";
import type { parseArgs } from "node:util";
import { Store } from "../image/store.ts";
import { LeopardError } from "../util/errors.ts";

export type Options = NonNullable<Parameters<typeof parseArgs>[0]>["options"];
export type Values = Record<string, string | boolean | string[] | undefined>;

export interface Globals {
  storage: string;
  /** The engine's run directory (--run, $LEOPARD_RUN); image verbs ignore it. */
  run?: string | undefined;
  debug: boolean;
}

export interface Verb {
  usage: string;
  options: Options;
  /** Positional arguments: a trailing "?" marks an optional one, "..." any number (at least one; "...?" none too). */
  args: string[];
  /** Everything after the last positional argument passes through unparsed (run's command). */
  rest?: boolean;
  run(g: Globals, v: Values, a: string[]): Promise<number | undefined> | number | undefined;
}

export function openStore(g: Globals): Store {
  return new Store(g.storage);
}

/** --tls-verify[=true|false]; undefined when not given. */
export function tlsVerify(v: Values): boolean | undefined {
  const t = v["tls-verify"];
  if (t === undefined) return undefined;
  if (t === "true" || t === true) return true;
  if (t === "false") return false;
  throw new LeopardError("invalid-argument", `--tls-verify "${String(t)}" must be true or false`);
}

export function str(v: Values, k: string): string | undefined {
  const x = v[k];
  return typeof x === "string" ? x : undefined;
}

export const TLS_OPTIONS: Options = {
  "tls-verify": { type: "string" },
  authfile: { type: "string" },
};

/** Reads stdin into a temporary file (for "-" inputs); returns its path. */
export async function stdinToFile(store: Store): Promise<string> {
  const p = store.tmpPath("stdin");
  const fd = openSync(p, "wx", 0o600);
  try {
    // A stream, not Bun.write(Bun.stdin): stdin is often a pipe.
    for await (const c of Bun.stdin.stream()) {
      let off = 0;
      while (off < c.length) off += writeSync(fd, c, off);
    }
  } catch (e) {
    closeSync(fd);
    rmSync(p, { force: true });
    throw e;
  }
  closeSync(fd);
  return p;
}
