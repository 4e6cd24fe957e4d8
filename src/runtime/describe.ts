// Turns a helper's error report into one sentence: `mount "proc" on "/proc": operation not permitted`.
import { CLONE, type NamespaceType } from "../plan/types.ts";
import type { HelperMessage } from "../protocol/decode.ts";
import { type Op, PivotMode } from "../protocol/ops.ts";
import { strerror } from "../util/errno.ts";

/** The order namespaces are named in an error (user first, as the helper creates them). */
const CLONE_ORDER: readonly NamespaceType[] = [
  "user",
  "mount",
  "uts",
  "ipc",
  "network",
  "pid",
  "cgroup",
  "time",
];

function nsNames(flags: number): string {
  return CLONE_ORDER.filter((t) => (flags & CLONE[t]) !== 0).join(", ");
}

/** What the op was doing, as the start of an error sentence. */
export function describeOp(op: Op): string {
  switch (op.op) {
    case "MOUNT":
      if (op.source === "" && op.fstype === "") return `remount "${op.target}"`;
      return `mount "${op.source}" on "${op.target}"${op.fstype ? ` (type "${op.fstype}")` : ""}`;
    case "UNSHARE":
      return `create ${nsNames(Number(op.flags))} namespace`;
    case "SETNS":
      return `join namespace "${String(op.path)}"`;
    case "EXEC":
      return `exec "${op.argv[0] ?? ""}"`;
    case "CHDIR":
      return `chdir to cwd "${String(op.path)}"`;
    case "MKNOD":
      return `mknod "${String(op.path)}"`;
    case "SYMLINK":
      return `symlink "${String(op.linkpath)}"`;
    case "PIVOT_ROOT":
      return Number(op.mode) === PivotMode.PIVOT ? "pivot_root" : "chroot (--no-pivot)";
    case "SET_ROOT":
      return `open rootfs "${String(op.path)}"`;
    case "SETHOSTNAME":
      return `set hostname "${String(op.name)}"`;
    case "SETID":
      return `set uid ${op.uid} gid ${op.gid}`;
    case "MASK":
      return `mask "${String(op.path)}"`;
    case "WRITE_PROC":
      return `write "/proc/${String(op.path)}"`;
    case "CONSOLE_FD":
      return "use the console socket";
    case "OPEN_FIFO":
      return "open the start FIFO";
    case "MOVE_MOUNT":
      return `attach the idmapped mount on "${String(op.target)}"`;
    case "MOUNT_SETATTR":
      return `set recursive mount options on "${String(op.target)}"`;
    case "RUN_HOOK":
      return `${String(op.stage)} hook "${String(op.path)}"`;
    default:
      return op.op.toLowerCase().replaceAll("_", " ");
  }
}

/**
 * The command check's failure in runc's words (Go's exec.LookPath), which engines match: Docker
 * exits 127 for "executable file not found" or "no such file or directory", 126 for "permission denied".
 */
function lookPathFailure(
  op: Extract<Op, { op: "CHECK_EXEC" }>,
  err: Extract<HelperMessage, { type: "error" }>,
): string {
  const name = String(op.name);
  if (!name.includes("/")) return `exec: "${name}": executable file not found in $PATH`;
  if (err.errno === 13) return `exec: "${name}": permission denied`;
  return `exec: "${name}": stat ${name}: ${strerror(err.errno)}`;
}

export function describeFailure(err: Extract<HelperMessage, { type: "error" }>, op: Op | undefined): string {
  if (op?.op === "CHECK_EXEC") return lookPathFailure(op, err);
  const what = op ? describeOp(op) : err.message;
  if (op?.op === "EXEC" && err.errno === 2)
    return `exec "${op.argv[0] ?? ""}": executable file not found in $PATH`;
  if (op?.op === "RUN_HOOK" && err.errno === 0)
    return `${describeOp(op)}: ${err.message.replace(/^\w+ hook /, "")}`;
  const detail = err.errno !== 0 ? strerror(err.errno) : err.message;
  const extra = op && err.message && !/^[a-z_0-9]+$/.test(err.message) ? ` (${err.message})` : "";
  return `${what}: ${detail}${extra}`;
}
