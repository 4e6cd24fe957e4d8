// The messages between the C launcher (native/launch.c) and a warm worker of `serve`: NUL-separated
// text fields, one message per SOCK_SEQPACKET packet. Pure encode/decode; see launch.c's header
// for the whole exchange. The constants below are the C side's too: native/wire.h is generated
// from them (`bun src/serve/gen-wire-header.ts > native/wire.h`, kept equal by wire-header.test.ts).

import { LeopardError } from "../util/errors.ts";

export const MAGIC = "LSRV3";

/** The request's fields before argv, in order (launch.c writes them in this order). */
export const REQUEST_FIELDS = [
  "MAGIC",
  "NAME",
  "STAMP",
  "CWD",
  "NOFILE_CUR",
  "NOFILE_MAX",
  "SECUREBITS",
  "ARGC",
] as const;

/** Each message's first field: one letter naming it. */
export const Msg = {
  /** launcher → worker: go ahead (the answer to ACCEPTED), with the launcher's fds 0-2 attached */
  GO: "G",
  /** launcher → worker: the requested program was started (pid) */
  STARTED: "S",
  /** launcher → worker: it could not be (errno) */
  FAILED: "E",
  /** launcher → worker: a started program ended (pid, raw wait status) */
  CHILD: "C",
  /** worker → launcher: this worker (pid) will act once the launcher answers GO */
  ACCEPTED: "A",
  /** worker → launcher: start a program */
  SPAWN: "P",
  /** worker → launcher: signal a program the launcher started and has not reaped */
  KILL: "K",
  /** worker → launcher: exit with this status */
  EXIT: "X",
  /** worker → launcher: not served here, run directly (reason) */
  FALLBACK: "F",
} as const;

/** SPAWN's fd sources: the launcher's own fd N, or the K-th fd attached to the message. */
export const FdFrom = { LAUNCHER: "c", ATTACHED: "a" } as const;

/**
 * A SPAWN map entry with this target (instead of a child fd number) names the program's file
 * itself: the launcher executes that fd (execveat, AT_EMPTY_PATH), not argv[0]'s path, and the
 * child does not keep it. The worker sends the C helper's sealed image so (./sealed-image.ts).
 */
export const EXEC_TARGET = "x";

/** What a launcher asks: run this command line as if it were the process that called us. */
export interface Request {
  name: string;
  /** The bundle's mtime as the launcher saw it: a worker loaded from another build declines. */
  stamp: string;
  cwd: string;
  nofile: { soft: bigint; hard: bigint };
  /**
   * The launcher's securebits (prctl PR_GET_SECUREBITS), which no /proc file shows. Its
   * capabilities, no_new_privs, seccomp mode and LSM label the worker reads from /proc instead.
   */
  securebits: number;
  argv: string[];
  env: Record<string, string>;
}

/** Launcher → worker after the request. */
export type LauncherMessage =
  | { type: "go" }
  | { type: "started"; pid: number }
  | { type: "failed"; errno: number }
  | { type: "child"; pid: number; status: number };

/** A child fd's source: the launcher's own fd n, or the k-th fd attached to the message. */
export type FdSource = { launcher: number } | { attached: number };

const enc = new TextEncoder();
const dec = new TextDecoder();

function fields(data: Uint8Array): string[] {
  const text = dec.decode(data);
  const parts = text.split("\0");
  if (parts.at(-1) === "") parts.pop();
  return parts;
}

function join(parts: readonly string[]): Uint8Array {
  for (const p of parts)
    if (p.includes("\0")) throw new LeopardError("protocol", `a field contains NUL: ${JSON.stringify(p)}`);
  return enc.encode(`${parts.join("\0")}\0`);
}

function count(s: string | undefined, what: string): number {
  const n = Number(s);
  if (s === undefined || s === "" || !Number.isInteger(n) || n < 0)
    throw new LeopardError("protocol", `bad ${what}: ${s}`);
  return n;
}

/** An rlimit value: up to RLIM_INFINITY (2^64 - 1), which a Number cannot hold. */
function limit(s: string | undefined): bigint {
  if (s === undefined || !/^[0-9]{1,20}$/.test(s) || BigInt(s) > 0xffffffffffffffffn)
    throw new LeopardError("protocol", `bad open-file limit: ${s}`);
  return BigInt(s);
}

/** A request field's position, by its name in REQUEST_FIELDS. */
const at = (name: (typeof REQUEST_FIELDS)[number]): number => REQUEST_FIELDS.indexOf(name);
const HEAD = REQUEST_FIELDS.length;

export function decodeRequest(data: Uint8Array): Request {
  const f = fields(data);
  if (f[at("MAGIC")] !== MAGIC)
    throw new LeopardError("protocol", `not a leopard launcher request (${JSON.stringify(f[0] ?? "")})`);
  const name = f[at("NAME")];
  const stamp = f[at("STAMP")];
  const cwd = f[at("CWD")];
  if (name === undefined || stamp === undefined || cwd === undefined || !cwd.startsWith("/"))
    throw new LeopardError("protocol", "request without name, stamp and an absolute cwd");
  const argc = count(f[at("ARGC")], "argc");
  const argv = f.slice(HEAD, HEAD + argc);
  if (argv.length !== argc) throw new LeopardError("protocol", "request shorter than its argc");
  const envc = count(f[HEAD + argc], "envc");
  const envList = f.slice(HEAD + 1 + argc, HEAD + 1 + argc + envc);
  if (envList.length !== envc || f.length !== HEAD + 1 + argc + envc)
    throw new LeopardError("protocol", "request length disagrees with envc");
  const env: Record<string, string> = {};
  for (const kv of envList) {
    const eq = kv.indexOf("=");
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return {
    name,
    stamp,
    cwd,
    nofile: { soft: limit(f[at("NOFILE_CUR")]), hard: limit(f[at("NOFILE_MAX")]) },
    securebits: count(f[at("SECUREBITS")], "securebits"),
    argv,
    env,
  };
}

export function encodeRequest(r: Request): Uint8Array {
  const env = Object.entries(r.env).map(([k, v]) => `${k}=${v}`);
  const head: Record<(typeof REQUEST_FIELDS)[number], string> = {
    MAGIC,
    NAME: r.name,
    STAMP: r.stamp,
    CWD: r.cwd,
    NOFILE_CUR: String(r.nofile.soft),
    NOFILE_MAX: String(r.nofile.hard),
    SECUREBITS: String(r.securebits),
    ARGC: String(r.argv.length),
  };
  return join([...REQUEST_FIELDS.map((k) => head[k]), ...r.argv, String(env.length), ...env]);
}

export function decodeLauncherMessage(data: Uint8Array): LauncherMessage {
  const [t, a, b] = fields(data);
  if (t === Msg.GO) return { type: "go" };
  if (t === Msg.STARTED) return { type: "started", pid: count(a, "pid") };
  if (t === Msg.FAILED) return { type: "failed", errno: count(a, "errno") };
  if (t === Msg.CHILD) return { type: "child", pid: count(a, "pid"), status: count(b, "status") };
  throw new LeopardError("protocol", `unknown message from the launcher: ${JSON.stringify(t)}`);
}

const sourceField = (src: FdSource): string =>
  "launcher" in src ? `${FdFrom.LAUNCHER}${src.launcher}` : `${FdFrom.ATTACHED}${src.attached}`;

/**
 * Start argv in the launcher; fds[i] = [child fd, source]. With env and cwd the program gets
 * those (both, or the launcher's own environment and directory). With exec, the program is that
 * fd's file (argv[0] is then only its name).
 */
export function encodeSpawn(
  argv: readonly string[],
  fds: readonly [number, FdSource][],
  own?: { env: Record<string, string>; cwd: string },
  exec?: FdSource,
): Uint8Array {
  const entries: [string, FdSource][] = fds.map(([target, src]) => [String(target), src]);
  if (exec !== undefined) entries.push([EXEC_TARGET, exec]);
  const map = entries.flatMap(([target, src]) => [target, sourceField(src)]);
  const tail =
    own === undefined
      ? []
      : [
          String(Object.keys(own.env).length),
          ...Object.entries(own.env).map(([k, v]) => `${k}=${v}`),
          own.cwd,
        ];
  return join([Msg.SPAWN, String(entries.length), ...map, String(argv.length), ...argv, ...tail]);
}

/** Signal a program the launcher started (it does so only if it has not reaped it yet). */
export function encodeKill(pid: number, signal: number): Uint8Array {
  return join([Msg.KILL, String(pid), String(signal)]);
}

export function encodeExit(code: number): Uint8Array {
  return join([Msg.EXIT, String(code & 0xff)]);
}

export function encodeAccepted(pid: number): Uint8Array {
  return join([Msg.ACCEPTED, String(pid)]);
}

export function encodeFallback(reason: string): Uint8Array {
  return join([Msg.FALLBACK, reason.replaceAll("\0", " ")]);
}

/** A raw wait status as a shell reports it: the exit code, or 128 + the signal. */
export function waitStatusCode(status: number): number {
  const sig = status & 0x7f;
  return sig === 0 ? (status >> 8) & 0xff : 128 + sig;
}
