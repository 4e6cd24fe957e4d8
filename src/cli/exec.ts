// `leopard-oci exec`: runc's flags → ExecOptions. Imported only when the verb runs.
import { exec } from "../runtime/exec.ts";
import { StateDir } from "../state/state.ts";
import { writeAll } from "../sys/io.ts";
import { LeopardError } from "../util/errors.ts";

type Values = Record<string, string | boolean | string[] | undefined>;

const str = (v: Values[string]): string | undefined => (typeof v === "string" ? v : undefined);
const strs = (v: Values[string]): string[] => (Array.isArray(v) ? v : typeof v === "string" ? [v] : []);

function gids(v: Values[string]): number[] | undefined {
  const list = strs(v).flatMap((s) => s.split(","));
  if (list.length === 0) return undefined;
  return list.map((s) => {
    const n = Number(s);
    if (s === "" || !Number.isInteger(n) || n < 0 || n > 0xffffffff)
      throw new LeopardError("invalid-argument", `--additional-gids "${s}" is not a gid`);
    return n;
  });
}

export async function execVerb(
  root: string,
  v: Values,
  id: string,
  command: string[],
  preserveFds: number,
): Promise<number> {
  const processFile = str(v["process"]);
  if (processFile !== undefined && command.length > 0)
    throw new LeopardError("invalid-argument", "give either --process FILE or a command, not both");
  return exec({
    id,
    state: new StateDir(root),
    processFile,
    inline:
      processFile === undefined
        ? {
            args: command,
            tty: v["tty"] === true,
            cwd: str(v["cwd"]),
            env: strs(v["env"]),
            user: str(v["user"]),
            additionalGids: gids(v["additional-gids"]),
            caps: strs(v["cap"]),
            noNewPrivs: v["no-new-privs"] === true,
            apparmor: str(v["apparmor"]),
            processLabel: str(v["process-label"]),
          }
        : undefined,
    detach: v["detach"] === true,
    pidFile: str(v["pid-file"]),
    consoleSocket: str(v["console-socket"]),
    preserveFds,
    ignorePaused: v["ignore-paused"] === true,
    explain: v["explain"] ? (t: string) => writeAll(2, `${t}\n`) : undefined,
  });
}
