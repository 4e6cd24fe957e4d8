// The engine's flag values as docker spells them, turned into numbers and records: sizes
// ("512m"), cpus ("1.5"), ulimits ("nofile=1024:2048"), volumes ("/a:/b:ro"), ports
// ("127.0.0.1:8080:80/udp"), env files. Pure: every parser throws one line naming the value.
import { LeopardError } from "../util/errors.ts";

const bad = (what: string, v: string, why: string): LeopardError =>
  new LeopardError("invalid-argument", `${what} "${v}": ${why}`);

const UNITS: Readonly<Record<string, number>> = {
  "": 1,
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
};

/** "512m", "1g", "1048576", "1.5g" → bytes. */
export function parseSize(v: string, what = "size"): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)b?$/i.exec(v.trim());
  if (!m) throw bad(what, v, "expected a number with an optional unit b, k, m, g or t");
  const n = Math.floor(Number(m[1]) * (UNITS[(m[2] ?? "").toLowerCase()] ?? 1));
  if (!Number.isSafeInteger(n) || n <= 0) throw bad(what, v, "must be a positive size");
  return n;
}

/** --cpus 1.5 → { quota, period } with docker's 100 ms period. */
export function parseCpus(v: string): { quota: number; period: number } {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v.trim()) || !(n > 0)) throw bad("--cpus", v, "expected a positive number");
  const period = 100_000;
  return { quota: Math.round(n * period), period };
}

export interface Ulimit {
  type: string;
  soft: number;
  hard: number;
}

const RLIMITS = new Set([
  "as",
  "core",
  "cpu",
  "data",
  "fsize",
  "locks",
  "memlock",
  "msgqueue",
  "nice",
  "nofile",
  "nproc",
  "rss",
  "rtprio",
  "rttime",
  "sigpending",
  "stack",
]);

/** "nofile=1024:2048" or "nproc=512" → RLIMIT_NOFILE soft 1024 hard 2048. */
export function parseUlimit(v: string): Ulimit {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(v);
  if (!m) throw bad("--ulimit", v, "expected NAME=SOFT[:HARD]");
  const name = m[1] ?? "";
  if (!RLIMITS.has(name)) throw bad("--ulimit", v, `unknown limit "${name}"`);
  const soft = Number(m[2]);
  const hard = m[3] === undefined ? soft : Number(m[3]);
  if (soft > hard) throw bad("--ulimit", v, "the soft limit is above the hard limit");
  return { type: `RLIMIT_${name.toUpperCase()}`, soft, hard };
}

export interface VolumeSpec {
  /** An absolute host path, or a named volume's name. */
  source: string;
  named: boolean;
  destination: string;
  readonly: boolean;
  /** A named volume's directory, filled in at create. */
  hostPath?: string | undefined;
}

const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** "-v /host:/ctr[:ro|rw]" or "-v name:/ctr[:ro]" (a named volume), or "-v /ctr" (an anonymous one). */
export function parseVolume(v: string): VolumeSpec {
  const parts = v.split(":");
  if (parts.length === 1) {
    if (!parts[0]?.startsWith("/")) throw bad("-v", v, "the container path must be absolute");
    return { source: "", named: true, destination: parts[0], readonly: false };
  }
  if (parts.length > 3) throw bad("-v", v, "expected SOURCE:DESTINATION[:ro|rw]");
  const [source = "", destination = "", mode = "rw"] = parts;
  if (!destination.startsWith("/")) throw bad("-v", v, "the container path must be absolute");
  const opts = mode.split(",");
  for (const o of opts) if (!["ro", "rw", "z", "Z"].includes(o)) throw bad("-v", v, `unknown option "${o}"`);
  const named = !source.startsWith("/");
  if (named && !VOLUME_NAME.test(source)) throw bad("-v", v, "a volume name uses letters, digits, _ . -");
  return { source, named, destination, readonly: opts.includes("ro") };
}

export interface PortSpec {
  hostIP: string;
  hostPort: number;
  containerPort: number;
  protocol: "tcp" | "udp";
}

function port(v: string, p: string): number {
  const n = Number(p);
  if (!/^\d+$/.test(p) || n < 1 || n > 65535) throw bad("-p", v, `port "${p}" is not in 1-65535`);
  return n;
}

/** "-p 8080:80", "-p 127.0.0.1:8080:80/udp", "-p 80" (a host port equal to the container's). */
export function parsePublish(v: string): PortSpec {
  const [spec = "", proto = "tcp", extra] = v.split("/");
  if (extra !== undefined || (proto !== "tcp" && proto !== "udp"))
    throw bad("-p", v, "the protocol must be tcp or udp");
  const parts = spec.split(":");
  let hostIP = "";
  let hp: string;
  let cp: string;
  if (parts.length === 1) [hp, cp] = [parts[0] ?? "", parts[0] ?? ""];
  else if (parts.length === 2) [hp, cp] = [parts[0] ?? "", parts[1] ?? ""];
  else if (parts.length === 3) [hostIP, hp, cp] = [parts[0] ?? "", parts[1] ?? "", parts[2] ?? ""];
  else throw bad("-p", v, "expected [IP:]HOSTPORT:CONTAINERPORT[/PROTO]");
  if (hostIP !== "" && !/^\d{1,3}(\.\d{1,3}){3}$/.test(hostIP))
    throw bad("-p", v, `"${hostIP}" is not an IPv4 address`);
  const containerPort = port(v, cp);
  return { hostIP, hostPort: hp === "" ? containerPort : port(v, hp), containerPort, protocol: proto };
}

/** KEY=VALUE lines; "#" comments and blank lines skipped; a bare KEY takes its value from `env`. */
export function parseEnvFile(text: string, env: Readonly<Record<string, string | undefined>>): string[] {
  const out: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
    out.push(...expandEnv([line], env));
  }
  return out;
}

/** `-e KEY` (no "=") takes KEY's value from the caller's environment, or is dropped when unset. */
export function expandEnv(
  values: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  const out: string[] = [];
  for (const v of values) {
    if (v.startsWith("=")) throw bad("-e", v, "the variable has no name");
    if (v.includes("=")) out.push(v);
    else if (env[v] !== undefined) out.push(`${v}=${env[v]}`);
  }
  return out;
}

/** "--tmpfs /run" or "--tmpfs /run:size=64m,mode=1777" → destination and mount options. */
export function parseTmpfs(v: string): { destination: string; options: string[] } {
  const i = v.indexOf(":");
  const destination = i < 0 ? v : v.slice(0, i);
  if (!destination.startsWith("/")) throw bad("--tmpfs", v, "the container path must be absolute");
  const options =
    i < 0
      ? []
      : v
          .slice(i + 1)
          .split(",")
          .filter((o) => o !== "");
  return { destination, options };
}

/** "--sysctl net.ipv4.ip_forward=1" */
export function parseSysctl(v: string): [string, string] {
  const i = v.indexOf("=");
  if (i <= 0) throw bad("--sysctl", v, "expected NAME=VALUE");
  return [v.slice(0, i), v.slice(i + 1)];
}

/** "--label k=v" or "--label k" (empty value). */
export function parseLabel(v: string): [string, string] {
  const i = v.indexOf("=");
  if (i === 0) throw bad("--label", v, "the label has no name");
  return i < 0 ? [v, ""] : [v.slice(0, i), v.slice(i + 1)];
}

/** "--device /dev/fuse[:/dev/fuse][:rwm]" */
export function parseDevice(v: string): { host: string; container: string; access: string } {
  const parts = v.split(":");
  const host = parts[0] ?? "";
  if (!host.startsWith("/")) throw bad("--device", v, "the host path must be absolute");
  let container = host;
  let access = "rwm";
  if (parts.length === 2) {
    if (/^[rwm]+$/.test(parts[1] ?? "")) access = parts[1] ?? "rwm";
    else container = parts[1] ?? host;
  } else if (parts.length === 3) {
    container = parts[1] ?? host;
    access = parts[2] ?? "rwm";
  } else if (parts.length > 3) throw bad("--device", v, "expected HOST[:CONTAINER][:PERMISSIONS]");
  if (!container.startsWith("/")) throw bad("--device", v, "the container path must be absolute");
  if (!/^[rwm]+$/.test(access))
    throw bad("--device", v, `permissions "${access}" must be made of r, w and m`);
  return { host, container, access };
}

/** "10s", "5m", "1h30m" or an RFC 3339 time / unix seconds → ms since the epoch. */
export function parseSince(v: string, now: number): number {
  const d = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(v);
  if (d && v !== "")
    return now - ((Number(d[1] ?? 0) * 60 + Number(d[2] ?? 0)) * 60 + Number(d[3] ?? 0)) * 1000;
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw bad("--since", v, "expected a duration (10m) or a time (2026-01-02T15:04:05Z)");
  return t;
}
