// `import --change 'INSTR ARGS'`: the Dockerfile instructions docker's import applies to the new
// image's config (CMD, ENTRYPOINT, ENV, LABEL, USER, WORKDIR, EXPOSE, VOLUME, STOPSIGNAL). Pure:
// text in, the config's fields out; an instruction import cannot apply is an error naming it.
import { LeopardError } from "../util/errors.ts";

const bad = (change: string, why: string): LeopardError =>
  new LeopardError("invalid-argument", `--change "${change}": ${why}`);

/** `["a","b"]` (JSON) or shell form, which runs under /bin/sh -c as in a Dockerfile. */
function command(change: string, args: string): string[] {
  if (args.startsWith("[")) {
    try {
      const v = JSON.parse(args) as unknown;
      if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v;
    } catch {
      // Not JSON: the error below says what is expected.
    }
    throw bad(change, "expected a JSON array of strings or a shell command");
  }
  return ["/bin/sh", "-c", args];
}

/** KEY=VALUE pairs (values may be "quoted"), or the old "KEY VALUE" form. */
function pairs(change: string, args: string): [string, string][] {
  if (!/^[^\s=]+=/.test(args)) {
    const m = /^(\S+)\s+(.*)$/.exec(args);
    if (!m) throw bad(change, "expected KEY=VALUE");
    return [[m[1] ?? "", m[2] ?? ""]];
  }
  const out: [string, string][] = [];
  const re = /([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)\s*/y;
  let m: RegExpExecArray | null = re.exec(args);
  let end = 0;
  while (m) {
    const raw = m[2] ?? "";
    out.push([m[1] ?? "", raw.startsWith('"') ? (JSON.parse(raw) as string) : raw]);
    end = re.lastIndex;
    m = re.exec(args);
  }
  if (end !== args.length) throw bad(change, "expected KEY=VALUE pairs");
  return out;
}

const list = (args: string): string[] =>
  args.startsWith("[") ? (JSON.parse(args) as string[]) : args.split(/\s+/).filter((x) => x !== "");

/** The config fields after applying `changes` in order to `base`. */
export function applyChanges(
  base: Record<string, unknown>,
  changes: readonly string[],
): Record<string, unknown> {
  const c: Record<string, unknown> = { ...base };
  for (const change of changes) {
    const m = /^\s*(\w+)\s+([\s\S]*?)\s*$/.exec(change);
    if (!m) throw bad(change, "expected INSTRUCTION ARGUMENTS");
    const args = m[2] ?? "";
    switch ((m[1] ?? "").toUpperCase()) {
      case "CMD":
        c["Cmd"] = command(change, args);
        break;
      case "ENTRYPOINT":
        c["Entrypoint"] = command(change, args);
        break;
      case "ENV": {
        const env = [...((c["Env"] as string[] | undefined) ?? [])];
        for (const [k, v] of pairs(change, args)) {
          const i = env.findIndex((e) => e.startsWith(`${k}=`));
          if (i >= 0) env[i] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        c["Env"] = env;
        break;
      }
      case "LABEL":
        c["Labels"] = {
          ...((c["Labels"] as Record<string, string> | undefined) ?? {}),
          ...Object.fromEntries(pairs(change, args)),
        };
        break;
      case "USER":
        c["User"] = args;
        break;
      case "WORKDIR":
        c["WorkingDir"] = args;
        break;
      case "STOPSIGNAL":
        c["StopSignal"] = args;
        break;
      case "EXPOSE": {
        const ports = { ...((c["ExposedPorts"] as Record<string, object> | undefined) ?? {}) };
        for (const p of list(args)) ports[p.includes("/") ? p : `${p}/tcp`] = {};
        c["ExposedPorts"] = ports;
        break;
      }
      case "VOLUME": {
        const vols = { ...((c["Volumes"] as Record<string, object> | undefined) ?? {}) };
        for (const v of list(args)) vols[v] = {};
        c["Volumes"] = vols;
        break;
      }
      default:
        throw bad(
          change,
          `${m[1]} cannot be applied by import (CMD, ENTRYPOINT, ENV, LABEL, USER, WORKDIR, EXPOSE, VOLUME, STOPSIGNAL can)`,
        );
    }
  }
  return c;
}
