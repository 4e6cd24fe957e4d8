// The messages between the C launcher (native/launch.c) and a warm worker of `serve`: NUL-separated
// text fields, one message per SOCK_SEQPACKET packet. Pure encode/decode; see launch.c's header
// for the whole exchange.

export const MAGIC = "LSRV3";

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
  for (const p of parts) if (p.includes("\0")) throw new Error(`a field contains NUL: ${JSON.stringify(p)}`);
  return enc.encode(`${parts.join("\0")}\0`);
}

function count(s: string | undefined, what: string): number {
  const n = Number(s);
  if (s === undefined || s === "" || !Number.isInteger(n) || n < 0) throw new Error(`bad ${what}: ${s}`);
  return n;
}

/** An rlimit value: up to RLIM_INFINITY (2^64 - 1), which a Number cannot hold. */
function limit(s: string | undefined): bigint {
  if (s === undefined || !/^[0-9]{1,20}$/.test(s) || BigInt(s) > 0xffffffffffffffffn)
    throw new Error(`bad open-file limit: ${s}`);
  return BigInt(s);
}

export function decodeRequest(data: Uint8Array): Request {
  const f = fields(data);
  if (f[0] !== MAGIC) throw new Error(`not a leopard launcher request (${JSON.stringify(f[0] ?? "")})`);
  const [, name, stamp, cwd, soft, hard, securebits] = f;
  if (name === undefined || stamp === undefined || cwd === undefined || !cwd.startsWith("/"))
    throw new Error("request without name, stamp and an absolute cwd");
  const argc = count(f[7], "argc");
  const argv = f.slice(8, 8 + argc);
  if (argv.length !== argc) throw new Error("request shorter than its argc");
  const envc = count(f[8 + argc], "envc");
  const envList = f.slice(9 + argc, 9 + argc + envc);
  if (envList.length !== envc || f.length !== 9 + argc + envc)
    throw new Error("request length disagrees with envc");
  const env: Record<string, string> = {};
  for (const kv of envList) {
    const eq = kv.indexOf("=");
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return {
    name,
    stamp,
    cwd,
    nofile: { soft: limit(soft), hard: limit(hard) },
    securebits: count(securebits, "securebits"),
    argv,
    env,
  };
}

export function encodeRequest(r: Request): Uint8Array {
  const env = Object.entries(r.env).map(([k, v]) => `${k}=${v}`);
  return join([
    MAGIC,
    r.name,
    r.stamp,
    r.cwd,
    String(r.nofile.soft),
    String(r.nofile.hard),
    String(r.securebits),
    String(r.argv.length),
    ...r.argv,
    String(env.length),
    ...env,
  ]);
}

export function decodeLauncherMessage(data: Uint8Array): LauncherMessage {
  const [t, a, b] = fields(data);
  if (t === "G") return { type: "go" };
  if (t === "S") return { type: "started", pid: count(a, "pid") };
  if (t === "E") return { type: "failed", errno: count(a, "errno") };
  if (t === "C") return { type: "child", pid: count(a, "pid"), status: count(b, "status") };
  throw new Error(`unknown message from the launcher: ${JSON.stringify(t)}`);
}

/**
 * Start argv in the launcher; fds[i] = [child fd, source]. With env and cwd the program gets
 * those (both, or the launcher's own environment and directory).
 */
export function encodeSpawn(
  argv: readonly string[],
  fds: readonly [number, FdSource][],
  own?: { env: Record<string, string>; cwd: string },
): Uint8Array {
  const map = fds.flatMap(([target, src]) => [
    String(target),
    "launcher" in src ? `c${src.launcher}` : `a${src.attached}`,
  ]);
  const tail =
    own === undefined
      ? []
      : [
          String(Object.keys(own.env).length),
          ...Object.entries(own.env).map(([k, v]) => `${k}=${v}`),
          own.cwd,
        ];
  return join(["P", String(fds.length), ...map, String(argv.length), ...argv, ...tail]);
}

/** Signal a program the launcher started (it does so only if it has not reaped it yet). */
export function encodeKill(pid: number, signal: number): Uint8Array {
  return join(["K", String(pid), String(signal)]);
}

export function encodeExit(code: number): Uint8Array {
  return join(["X", String(code & 0xff)]);
}

export function encodeAccepted(pid: number): Uint8Array {
  return join(["A", String(pid)]);
}

export function encodeFallback(reason: string): Uint8Array {
  return join(["F", reason.replaceAll("\0", " ")]);
}

/** A raw wait status as a shell reports it: the exit code, or 128 + the signal. */
export function waitStatusCode(status: number): number {
  const sig = status & 0x7f;
  return sig === 0 ? (status >> 8) & 0xff : 128 + sig;
}
