// Detached containers are watched by conmon, exactly as podman runs it: conmon calls
// `leopard-oci create` with a console socket when there is a terminal, keeps the pty or the
// pipes, writes the k8s-file log, reaps init and writes the exit code to <exits>/<id>, then runs
// the exit command (`leopard container-cleanup <id>`). conmon reports init's pid (or the
// runtime's error) as JSON on the pipe named by _OCI_SYNCPIPE; we then start the container
// in-process.
import { existsSync, readFileSync } from "node:fs";
import { spawnHelper } from "../runtime/spawn.ts";
import { hostToolEnv } from "../sys/host-tool.ts";
import { pipe, read } from "../sys/io.ts";
import { closeFd, recvMsg, socketPair, waitReadable } from "../sys/seqpacket.ts";
import { describe, LeopardError } from "../util/errors.ts";
import { binDir } from "../util/layout.ts";
import { join } from "../util/path.ts";

export const CONMON = "/usr/bin/conmon";
/** The launchers beside ours: the checkout's bin/ or the install's <prefix>/bin. */
export const RUNTIME = join(binDir(), "leopard-oci");
export const ENGINE = join(binDir(), "leopard");
const CONMON_TIMEOUT_MS = 60_000;

export interface ConmonRequest {
  id: string;
  name: string;
  bundle: string;
  ociRoot: string;
  exitDir: string;
  socketDir: string;
  logPath: string;
  tty: boolean;
  stdin: boolean;
  /** Bytes after which conmon starts the log afresh (--log-size-max); 0 or absent: no limit. */
  logMaxSize?: number | undefined;
  /** argv of the command conmon runs once the container has exited. */
  exitCommand: string[];
}

/** conmon's argument list (pure, for tests and `--debug`). */
export function conmonArgs(r: ConmonRequest): string[] {
  const args = [
    "--api-version",
    "1",
    "-c",
    r.id,
    "-u",
    r.id,
    "-r",
    RUNTIME,
    "-b",
    r.bundle,
    "-p",
    `${r.bundle}/pidfile`,
    "-n",
    r.name,
    "--exit-dir",
    r.exitDir,
    "--socket-dir-path",
    r.socketDir,
    "-l",
    `k8s-file:${r.logPath}`,
    "--log-level",
    "warning",
    "--conmon-pidfile",
    `${r.bundle}/conmon.pid`,
    "--runtime-arg",
    "--root",
    "--runtime-arg",
    r.ociRoot,
  ];
  if (r.logMaxSize) args.push("--log-size-max", String(r.logMaxSize));
  if (r.tty) args.push("-t");
  if (r.stdin) args.push("-i");
  const [cmd, ...rest] = r.exitCommand;
  if (cmd !== undefined) {
    args.push("--exit-command", cmd);
    for (const a of rest) args.push("--exit-command-arg", a);
  }
  return args;
}

/** Starts conmon and waits until the container is created; returns init's pid. */
export async function launchConmon(r: ConmonRequest): Promise<number> {
  if (!existsSync(CONMON)) throw new LeopardError("not-found", `conmon is not installed at ${CONMON}`);
  const [ours, theirs] = socketPair();
  const [errRead, errWrite] = pipe();
  try {
    // Started by the caller's process (the launcher, when a warm worker runs this command), so
    // conmon lives in the caller's cgroup and session, as podman's does. A host tool: the
    // system's PATH and no loader variables, for it and the runtime and exit command it runs.
    const proc = spawnHelper([CONMON, ...conmonArgs(r)], ["ignore", "ignore", errWrite, theirs], {
      env: { ...hostToolEnv(), _OCI_SYNCPIPE: "3" },
      cwd: r.bundle,
    });
    closeFd(theirs);
    closeFd(errWrite);
    // conmon forks: the first process exits at once; the monitor keeps the pipe until create ends.
    const msg = recvMsg(ours, CONMON_TIMEOUT_MS);
    await proc.exited;
    if (msg === null) {
      const err = readFor(errRead, 1000)
        .trim()
        .split("\n")
        .filter((l) => !l.includes("oom_score_adj"))
        .join("; ");
      throw new LeopardError(
        "system",
        `conmon exited before the container was created${err ? `: ${err}` : ""}`,
      );
    }
    let reply: { data?: number; message?: string };
    try {
      reply = JSON.parse(new TextDecoder().decode(msg.data)) as typeof reply;
    } catch (e) {
      throw new LeopardError("protocol", `conmon's reply is not JSON: ${describe(e)}`);
    }
    if (typeof reply.data !== "number" || reply.data <= 0) {
      throw new LeopardError("system", cleanRuntimeError(reply.message ?? "the runtime failed"));
    }
    return reply.data;
  } finally {
    closeFd(ours);
    closeFd(errRead);
  }
}

/** What fd gives until EOF, or until timeoutMs passes without more. */
function readFor(fd: number, timeoutMs: number): string {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(4096);
  while (waitReadable(fd, timeoutMs)) {
    const n = read(fd, buf);
    if (n <= 0) break;
    chunks.push(buf.slice(0, n));
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** conmon wraps the runtime's stderr; keep the runtime's own sentence. */
export function cleanRuntimeError(message: string): string {
  const lines = message
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const ours = lines.find((l) => l.startsWith("leopard-oci: "));
  return (ours ?? lines.join("; ")).replace(/^leopard-oci: (create [0-9a-f]+: )?/, "");
}

/** conmon's pid, when its pidfile exists. */
export function conmonPid(bundle: string): number | undefined {
  try {
    const n = Number(readFileSync(`${bundle}/conmon.pid`, "utf8").trim());
    return n > 0 ? n : undefined;
  } catch {
    // No pidfile (conmon has not written it, or the bundle is gone).
    return undefined;
  }
}
