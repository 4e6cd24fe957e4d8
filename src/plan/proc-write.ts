// Writes to files beneath /proc: the one way the plan writes a file (WRITE_PROC). The helper
// opens "/proc", checks it is procfs and resolves the path beneath it with these flags, so neither
// a key nor a mount over part of /proc can redirect the write (a sysctl key with "..", a bind
// mount over /proc/self/attr: CVE-2019-16884). Pure.
import { type Op, RESOLVE } from "../protocol/ops.ts";
import { q } from "./shell.ts";
import type { Step } from "./step.ts";

/**
 * Through the /proc/self or /proc/thread-self symlink: those two are plain symlinks within procfs,
 * so only magic links, mount crossings and escapes from /proc are refused.
 */
const VIA_SELF = RESOLVE.BENEATH | RESOLVE.NO_MAGICLINKS | RESOLVE.NO_XDEV;
/** /proc/sys/...: no symlink of any kind. */
const NO_LINKS = VIA_SELF | RESOLVE.NO_SYMLINKS;

/** `path` is relative to /proc ("self/oom_score_adj", "sys/net/ipv4/ip_forward"). */
export function procWrite(path: string, data: string, explain?: string): Step {
  const resolve = path.startsWith("self/") || path.startsWith("thread-self/") ? VIA_SELF : NO_LINKS;
  const op: Op = { op: "WRITE_PROC", path, data, resolve };
  return { op, explain: explain ?? `echo ${q(data)} > /proc/${path}` };
}
