// OCI hooks (runtime-spec config.md#posix-platform-hooks): each runs with the container's state
// JSON on stdin, its own args (args[0] is argv[0]) and env (nothing else), and an optional
// timeout in seconds. The stages run in the runtime's namespaces are run from here;
// createContainer and startContainer run inside the container, by the helper (RUN_HOOK).
import type { HookName, SpecHook } from "../config/types.ts";
import { writeAll } from "../sys/io.ts";
import { LeopardError } from "../util/errors.ts";

/** The state the hooks read on stdin (runtime-spec runtime.md#state). */
export interface HookState {
  ociVersion: string;
  id: string;
  status: "creating" | "created" | "running" | "stopped";
  pid: number;
  bundle: string;
  annotations: Readonly<Record<string, string>>;
}

export interface HookSpec {
  path: string;
  args: readonly string[];
  env: readonly string[];
  timeout: number | undefined;
}

/** A hook failure; `stage` names it for the one-line error. */
export class HookError extends LeopardError {
  override name = "HookError";
}

export function stateJson(s: HookState): string {
  const out: Record<string, unknown> = {
    ociVersion: s.ociVersion,
    id: s.id,
    status: s.status,
    pid: s.pid,
    bundle: s.bundle,
  };
  if (Object.keys(s.annotations).length > 0) out["annotations"] = s.annotations;
  return JSON.stringify(out);
}

/** The state JSON split around the pid, which only the helper knows (its pid as the runtime sees it). */
export function stateAroundPid(s: Omit<HookState, "pid">): { head: string; tail: string } {
  const text = stateJson({ ...s, pid: 0 });
  const at = text.indexOf('"pid":0') + '"pid":'.length;
  return { head: text.slice(0, at), tail: text.slice(at + 1) };
}

/** argv for execve: args as written, or the path alone when args is empty. */
export function hookArgv(h: HookSpec): string[] {
  return h.args.length > 0 ? [...h.args] : [h.path];
}

/** Timeout in milliseconds for the helper's RUN_HOOK (0: none). */
export function hookTimeoutMs(h: HookSpec): number {
  return h.timeout === undefined ? 0 : h.timeout * 1000;
}

function runOne(stage: HookName, index: number, h: HookSpec, state: string): void {
  const env: Record<string, string> = {};
  for (const e of h.env) {
    const eq = e.indexOf("=");
    if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1);
  }
  const argv = hookArgv(h);
  let r: ReturnType<typeof Bun.spawnSync>;
  const where = `${stage} hook #${index} "${h.path}"`;
  try {
    r = Bun.spawnSync([h.path, ...argv.slice(1)], {
      argv0: argv[0] ?? h.path,
      env,
      stdin: Buffer.from(state),
      stdout: "pipe",
      stderr: "pipe",
      ...(h.timeout === undefined ? {} : { timeout: h.timeout * 1000, killSignal: "SIGKILL" as const }),
    });
  } catch (e) {
    throw new HookError("system", `${where}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (r.exitCode === 0) return;
  const err = (r.stderr?.toString() ?? "").trim();
  const why = r.exitedDueToTimeout
    ? `timed out after ${h.timeout} s`
    : r.exitCode === null
      ? `killed by ${r.signalCode ?? "a signal"}`
      : `exited with status ${r.exitCode}`;
  throw new HookError("system", `${where}: ${why}${err ? `: ${err.split("\n").slice(-3).join("; ")}` : ""}`);
}

/**
 * Runs a stage's hooks in order. For prestart and createRuntime (and the in-container stages)
 * the first failure throws; poststart and poststop failures are warnings and the rest still run.
 */
export function runHooks(
  stage: HookName,
  hooks: readonly SpecHook[] | readonly HookSpec[],
  state: HookState,
  warn: (msg: string) => void = (m) => writeAll(2, `leopard-oci: warning: ${m}\n`),
): void {
  const json = stateJson(state);
  const lenient = stage === "poststart" || stage === "poststop";
  hooks.forEach((h, i) => {
    try {
      runOne(stage, i, h, json);
    } catch (e) {
      if (!lenient) throw e;
      warn(e instanceof Error ? e.message : String(e));
    }
  });
}
