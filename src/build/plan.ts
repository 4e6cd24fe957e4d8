// The build plan, pure: a parsed Dockerfile and the build's arguments → its stages (the base
// each starts from, with ARGs before the first FROM and the built-in platform args expanded),
// which of them the target needs, and, instruction by instruction, what a step does to the
// stage's state (its config, its ARGs) and what it asks of the executor (a RUN, a COPY/ADD, or
// nothing: metadata only). Docker's rules: ENV beats ARG; an ARG declared in a stage takes the
// --build-arg or the global value; relative WORKDIRs join the previous one; CMD in shell form
// runs under SHELL; ENTRYPOINT clears an inherited CMD.

import { LeopardError } from "../util/errors.ts";
import { posix } from "../util/path.ts";
import { DockerfileError, type Instr, type ParsedDockerfile } from "./dockerfile.ts";
import { expandWord, expandWords, keyValues, type Vars } from "./expand.ts";

export interface Platform {
  os: string;
  architecture: string;
  variant?: string | undefined;
}

/** The image config's "config" section, docker's field names. */
export interface RunConfig {
  Env?: string[];
  Cmd?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, object>;
  Labels?: Record<string, string>;
  Volumes?: Record<string, object>;
  StopSignal?: string;
  Healthcheck?: {
    Test: string[];
    Interval?: number;
    Timeout?: number;
    StartPeriod?: number;
    StartInterval?: number;
    Retries?: number;
  };
  OnBuild?: string[];
  Shell?: string[];
}

export type Base = { kind: "scratch" } | { kind: "stage"; index: number } | { kind: "image"; ref: string };

export interface Stage {
  index: number;
  /** The AS name, lower-cased as docker compares them. */
  name?: string | undefined;
  base: Base;
  platform?: string | undefined;
  line: number;
  instructions: Instr[];
}

export interface Plan {
  stages: Stage[];
  /** Stages to build, in order; the last is the target. */
  build: number[];
  /** Global ARG values (after --build-arg), for reference. */
  globals: Map<string, string>;
}

export const DEFAULT_SHELL = ["/bin/sh", "-c"];

export function platformArgs(target: Platform, buildHost: Platform): Map<string, string> {
  const s = (p: Platform) => `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
  return new Map([
    ["TARGETPLATFORM", s(target)],
    ["TARGETOS", target.os],
    ["TARGETARCH", target.architecture],
    ["TARGETVARIANT", target.variant ?? ""],
    ["BUILDPLATFORM", s(buildHost)],
    ["BUILDOS", buildHost.os],
    ["BUILDARCH", buildHost.architecture],
    ["BUILDVARIANT", buildHost.variant ?? ""],
  ]);
}

function argDecls(i: Instr, esc: string): [string, string | undefined][] {
  return i.args
    .split(/\s+/)
    .filter((w) => w !== "")
    .map((w) => {
      const eq = w.indexOf("=");
      if (eq === 0) throw new LeopardError("invalid-argument", `ARG "${w}" has no name`);
      return eq < 0 ? [w, undefined] : [w.slice(0, eq), expandWord(w.slice(eq + 1), new Map(), esc)];
    });
}

/** Stages, the globals and the stages the target needs. */
export function planStages(
  df: ParsedDockerfile,
  opts: {
    buildArgs: ReadonlyMap<string, string>;
    target?: string | undefined;
    builtins: ReadonlyMap<string, string>;
    file: string;
  },
): Plan {
  const globals = new Map<string, string>(opts.builtins);
  const stages: Stage[] = [];
  for (const i of df.instructions) {
    if (i.keyword === "FROM") {
      const words = i.args.split(/\s+/);
      if (!(words.length === 1 || (words.length === 3 && words[1]?.toLowerCase() === "as")))
        throw new DockerfileError(opts.file, i.line, `FROM takes "IMAGE [AS NAME]", not "${i.args}"`);
      const ref = expandWord(words[0] ?? "", globals, df.escape);
      if (ref === "") throw new DockerfileError(opts.file, i.line, `FROM "${words[0]}" expands to nothing`);
      const name = words[2]?.toLowerCase();
      if (name !== undefined && !/^[a-z][a-z0-9._-]*$/.test(name))
        throw new DockerfileError(opts.file, i.line, `stage name "${words[2]}" is not valid`);
      if (name !== undefined && stages.some((s) => s.name === name))
        throw new DockerfileError(opts.file, i.line, `stage name "${words[2]}" is used twice`);
      const prior = stages.find((s) => s.name === ref.toLowerCase());
      const base: Base =
        ref.toLowerCase() === "scratch"
          ? { kind: "scratch" }
          : prior !== undefined
            ? { kind: "stage", index: prior.index }
            : { kind: "image", ref };
      const platform =
        i.flags["platform"] === undefined ? undefined : expandWord(i.flags["platform"], globals, df.escape);
      stages.push({ index: stages.length, name, base, platform, line: i.line, instructions: [] });
      continue;
    }
    const cur = stages[stages.length - 1];
    if (cur === undefined) {
      // Before the first FROM only ARG is allowed (the parser checked).
      for (const [k, v] of argDecls(i, df.escape)) {
        const given = opts.buildArgs.get(k);
        globals.set(k, given ?? v ?? globals.get(k) ?? "");
      }
      continue;
    }
    cur.instructions.push(i);
  }
  let target = stages.length - 1;
  if (opts.target !== undefined) {
    const t = stages.find((s) => s.name === opts.target?.toLowerCase());
    if (t === undefined)
      throw new LeopardError("not-found", `target stage "${opts.target}" could not be found`);
    target = t.index;
  }
  const needed = new Set<number>();
  const visit = (n: number) => {
    if (needed.has(n)) return;
    needed.add(n);
    const s = stages[n] as Stage;
    if (s.base.kind === "stage") visit(s.base.index);
    for (const i of s.instructions) {
      const from = i.keyword === "COPY" ? i.flags["from"] : undefined;
      if (from === undefined) continue;
      const ref = stageRef(stages, expandWord(from, globals, df.escape), n);
      if (ref !== undefined) visit(ref);
    }
  };
  visit(target);
  return { stages, build: [...needed].sort((a, b) => a - b), globals };
}

/** COPY --from=NAME|INDEX as a stage before `before`; undefined: an image reference. */
export function stageRef(stages: readonly Stage[], from: string, before: number): number | undefined {
  if (/^\d+$/.test(from)) {
    const n = Number(from);
    if (n >= before)
      throw new LeopardError("invalid-argument", `COPY --from=${from}: stage ${n} is not a previous stage`);
    return n;
  }
  const s = stages.find((x) => x.name === from.toLowerCase());
  if (s === undefined) return undefined;
  if (s.index >= before)
    throw new LeopardError(
      "invalid-argument",
      `COPY --from=${from}: stage "${from}" is not a previous stage`,
    );
  return s.index;
}

/** A stage's state as its instructions change it. */
export interface StageState {
  config: RunConfig;
  /** ARGs declared in this stage, with their values. */
  args: Map<string, string>;
  /** Whether CMD was set in this stage (ENTRYPOINT clears an inherited one). */
  cmdSet: boolean;
  author?: string | undefined;
}

export type Effect =
  | { kind: "none" }
  | { kind: "run"; argv: string[]; env: string[]; network?: string | undefined }
  | {
      kind: "copy";
      add: boolean;
      sources: string[];
      dest: string;
      from?: string | undefined;
      chown?: string | undefined;
      chmod?: number | undefined;
      /** Sources written inline: "<<NAME" → the file's content. */
      inline?: Record<string, string> | undefined;
    };

export interface Evaluated {
  state: StageState;
  effect: Effect;
  /** history's created_by, as podman and docker's classic builder write it. */
  createdBy: string;
}

/** The variables an instruction's words see: the stage's ARGs, then ENV over them. */
export function varsOf(s: StageState): Map<string, string> {
  const v = new Map(s.args);
  for (const e of s.config.Env ?? []) {
    const i = e.indexOf("=");
    if (i > 0) v.set(e.slice(0, i), e.slice(i + 1));
  }
  return v;
}

function setEnv(env: readonly string[], k: string, val: string): string[] {
  const i = env.findIndex((e) => e.startsWith(`${k}=`));
  if (i < 0) return [...env, `${k}=${val}`];
  const copy = [...env];
  copy[i] = `${k}=${val}`;
  return copy;
}

const UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A Go duration ("30s", "1m30s", "500ms") in nanoseconds. */
export function duration(s: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let end = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    total += Number(m[1]) * (UNITS[m[2] ?? "s"] ?? 0);
    end = re.lastIndex;
  }
  if (s === "" || end !== s.length) throw new LeopardError("invalid-argument", `"${s}" is not a duration`);
  return Math.round(total);
}

const nop = (text: string) => `/bin/sh -c #(nop) ${text}`;

function command(i: Instr, s: StageState): string[] {
  if (i.json !== undefined) return i.json;
  const shell = s.config.Shell ?? DEFAULT_SHELL;
  // `RUN <<EOT` alone runs the document as the script; any other use is the shell's own heredoc.
  const only = i.heredocs?.length === 1 && /^\s*<<-?["']?\w+["']?\s*$/.test(i.firstLine ?? "");
  return [...shell, only ? (i.heredocs?.[0]?.content ?? "") : i.args];
}

/**
 * One instruction applied to a stage's state. `buildArgs` are --build-arg values; `globals` the
 * values of ARGs before the first FROM; `builtins` the platform args.
 */
export function evaluate(
  i: Instr,
  s: StageState,
  ctx: {
    escape: string;
    buildArgs: ReadonlyMap<string, string>;
    globals: ReadonlyMap<string, string>;
    builtins: ReadonlyMap<string, string>;
  },
): Evaluated {
  const vars: Vars = varsOf(s);
  const esc = ctx.escape;
  const config: RunConfig = { ...s.config };
  const state: StageState = { ...s, config, args: new Map(s.args) };
  const none = (createdBy: string): Evaluated => ({
    state,
    effect: { kind: "none" },
    createdBy: nop(createdBy),
  });
  switch (i.keyword) {
    case "ARG": {
      for (const [k, def] of argDecls(i, esc)) {
        const v =
          ctx.buildArgs.get(k) ??
          (def === undefined ? undefined : expandWord(def, vars, esc)) ??
          ctx.globals.get(k) ??
          ctx.builtins.get(k);
        state.args.set(k, v ?? "");
      }
      return none(`ARG ${i.args}`);
    }
    case "ENV": {
      let env = config.Env ?? [];
      const kv = keyValues(i.args, vars, esc, "ENV");
      for (const [k, v] of kv) env = setEnv(env, k, v);
      config.Env = env;
      return none(`ENV ${kv.map(([k, v]) => `${k}=${v}`).join(" ")}`);
    }
    case "LABEL": {
      const labels = { ...(config.Labels ?? {}) };
      const kv = keyValues(i.args, vars, esc, "LABEL");
      for (const [k, v] of kv) labels[k] = v;
      config.Labels = labels;
      return none(`LABEL ${kv.map(([k, v]) => `${k}=${v}`).join(" ")}`);
    }
    case "MAINTAINER":
      state.author = expandWord(i.args, vars, esc);
      return none(`MAINTAINER ${state.author}`);
    case "WORKDIR": {
      const w = expandWord(i.args, vars, esc);
      config.WorkingDir = posix.resolve(config.WorkingDir || "/", w);
      return none(`WORKDIR ${config.WorkingDir}`);
    }
    case "USER":
      config.User = expandWord(i.args, vars, esc);
      return none(`USER ${config.User}`);
    case "STOPSIGNAL":
      config.StopSignal = expandWord(i.args, vars, esc);
      return none(`STOPSIGNAL ${config.StopSignal}`);
    case "EXPOSE": {
      const ports = { ...(config.ExposedPorts ?? {}) };
      for (const p of expandWords(i.args, vars, esc)) {
        const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
        const first = Number(m?.[1]);
        const last = m?.[2] === undefined ? first : Number(m[2]);
        if (m === null || first > last || last > 65535)
          throw new LeopardError("invalid-argument", `EXPOSE "${p}" is not PORT[-PORT][/PROTOCOL]`);
        // A range is each of its ports, as docker records it (an image config's keys are port/proto).
        const proto = (m[3] ?? "tcp").toLowerCase();
        for (let n = first; n <= last; n++) ports[`${n}/${proto}`] = {};
      }
      config.ExposedPorts = ports;
      return none(`EXPOSE ${Object.keys(ports).join(" ")}`);
    }
    case "VOLUME": {
      const vols = { ...(config.Volumes ?? {}) };
      const list = i.json ?? expandWords(i.args, vars, esc);
      for (const v of list) {
        if (v.trim() === "") throw new LeopardError("invalid-argument", "VOLUME with an empty path");
        vols[v] = {};
      }
      config.Volumes = vols;
      return none(`VOLUME [${list.join(" ")}]`);
    }
    case "CMD":
      config.Cmd = command(i, s);
      state.cmdSet = true;
      return none(`CMD ${JSON.stringify(config.Cmd)}`);
    case "ENTRYPOINT":
      config.Entrypoint = command(i, s);
      if (!s.cmdSet) delete config.Cmd;
      return none(`ENTRYPOINT ${JSON.stringify(config.Entrypoint)}`);
    case "SHELL":
      if (i.json === undefined || i.json.length === 0)
        throw new LeopardError(
          "invalid-argument",
          'SHELL needs the JSON form: SHELL ["executable", "parameters"]',
        );
      config.Shell = i.json;
      return none(`SHELL ${JSON.stringify(i.json)}`);
    case "ONBUILD":
      config.OnBuild = [...(config.OnBuild ?? []), i.args];
      return none(`ONBUILD ${i.args}`);
    case "HEALTHCHECK": {
      const words = i.args.split(/\s+/);
      const sub = (words[0] ?? "").toUpperCase();
      if (sub === "NONE") {
        config.Healthcheck = { Test: ["NONE"] };
        return none("HEALTHCHECK NONE");
      }
      if (sub !== "CMD")
        throw new LeopardError("invalid-argument", "HEALTHCHECK takes NONE or [OPTIONS] CMD command");
      const rest = i.args.replace(/^\S+\s*/, "");
      if (rest === "") throw new LeopardError("invalid-argument", "HEALTHCHECK CMD needs a command");
      let json: string[] | undefined;
      try {
        const v = JSON.parse(rest) as unknown;
        if (Array.isArray(v) && v.every((x) => typeof x === "string")) json = v as string[];
      } catch {
        // not JSON: the shell form (CMD-SHELL)
      }
      const hc: NonNullable<RunConfig["Healthcheck"]> = {
        Test: json !== undefined ? ["CMD", ...json] : ["CMD-SHELL", rest],
      };
      const f = i.flags;
      if (f["interval"] !== undefined) hc.Interval = duration(f["interval"]);
      if (f["timeout"] !== undefined) hc.Timeout = duration(f["timeout"]);
      if (f["start-period"] !== undefined) hc.StartPeriod = duration(f["start-period"]);
      if (f["start-interval"] !== undefined) hc.StartInterval = duration(f["start-interval"]);
      if (f["retries"] !== undefined) {
        const r = Number(f["retries"]);
        if (!Number.isInteger(r) || r < 0)
          throw new LeopardError(
            "invalid-argument",
            `HEALTHCHECK --retries "${f["retries"]}" is not a count`,
          );
        hc.Retries = r;
      }
      config.Healthcheck = hc;
      return none(`HEALTHCHECK ${JSON.stringify(hc)}`);
    }
    case "RUN": {
      const argv = command(i, s);
      // The stage's ARGs are in RUN's environment (ENV wins), not in the image's config.
      const envKeys = new Set((config.Env ?? []).map((e) => e.split("=")[0]));
      const argEnv = [...state.args].filter(([k]) => !envKeys.has(k)).map(([k, v]) => `${k}=${v}`);
      const network = i.flags["network"];
      if (network !== undefined && !["none", "host", "default"].includes(network))
        throw new LeopardError("invalid-argument", `RUN --network=${network}: only none, host and default`);
      const shown = argv.join(" ");
      return {
        state,
        effect: { kind: "run", argv, env: argEnv, network: network === "default" ? undefined : network },
        createdBy: argEnv.length > 0 ? `|${argEnv.length} ${argEnv.join(" ")} ${shown}` : shown,
      };
    }
    case "COPY":
    case "ADD": {
      const words = i.json ?? expandWords(i.firstLine ?? i.args, vars, esc);
      const all = i.json ? words.map((w) => expandWord(w, vars, esc)) : words;
      if (all.length < 2)
        throw new LeopardError("invalid-argument", `${i.keyword} needs a source and a destination`);
      const rawDest = all[all.length - 1] as string;
      const sources = all.slice(0, -1);
      if (sources.length > 1 && !rawDest.endsWith("/"))
        throw new LeopardError(
          "invalid-argument",
          `${i.keyword} with more than one source needs a destination directory ending in "/" ("${rawDest}")`,
        );
      const dest =
        posix.resolve(config.WorkingDir || "/", rawDest) +
        (rawDest.endsWith("/") || rawDest === "." ? "/" : "");
      const chmodText = i.flags["chmod"];
      let chmod: number | undefined;
      if (chmodText !== undefined) {
        if (!/^[0-7]{3,4}$/.test(chmodText))
          throw new LeopardError(
            "invalid-argument",
            `${i.keyword} --chmod=${chmodText} is not an octal mode`,
          );
        chmod = Number.parseInt(chmodText, 8);
      }
      if (i.keyword === "ADD" && i.flags["checksum"] !== undefined)
        throw new LeopardError("unsupported", "ADD --checksum is not supported (ADD of URLs is not)");
      const from = i.flags["from"] === undefined ? undefined : expandWord(i.flags["from"], vars, esc);
      const chown = i.flags["chown"] === undefined ? undefined : expandWord(i.flags["chown"], vars, esc);
      let inline: Record<string, string> | undefined;
      for (const h of i.heredocs ?? []) {
        inline ??= {};
        inline[`<<${h.name}`] = h.literal
          ? h.content
          : expandWord(`"${h.content.replace(/"/g, '\\"')}"`, vars, esc);
      }
      return {
        state,
        effect: { kind: "copy", add: i.keyword === "ADD", sources, dest, from, chown, chmod, inline },
        createdBy: `/bin/sh -c #(nop) ${i.keyword} ${from ? `--from=${from} ` : ""}${chown ? `--chown=${chown} ` : ""}${chmodText ? `--chmod=${chmodText} ` : ""}${sources.join(" ")} in ${dest}`,
      };
    }
    default:
      throw new LeopardError("invalid-argument", `instruction ${i.keyword} cannot be built`);
  }
}
