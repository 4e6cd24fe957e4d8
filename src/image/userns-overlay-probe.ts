// Whether this user may mount overlayfs in a user namespace of its own, on the storage's
// filesystem: Linux 5.11 allows it (FS_USERNS_MOUNT), with `userxattr`; an older kernel refuses
// (EPERM), and some filesystems cannot be an upper directory (EINVAL). Tried once, by mounting a
// one-layer overlay in `unshare --user --map-root-user --mount` (util-linux), in a scratch
// directory of the storage; the answer is kept in <storage>/overlay-userns.json with the kernel
// release and the storage's device, so later runs pay one small read.
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { SYSTEM_PATH, spawnToolSync } from "../sys/host-tool.ts";
import type { Store } from "./store.ts";

interface Probe {
  kernel: string;
  dev: number;
  /** undefined: possible; else why not. */
  refused?: string;
}

function kernel(): string {
  try {
    return readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  } catch {
    // No /proc here: the cached answer is then keyed by the device alone.
    return "";
  }
}

/** Runs the mount once; the reason it failed, or undefined. */
export function probeUsernsOverlay(root: string): string | undefined {
  const unshare = Bun.which("unshare", { PATH: SYSTEM_PATH });
  if (unshare === null) return "unshare(1) (util-linux) is not installed to probe with";
  const t = mkdtempSync(`${root}/.overlay-probe-`);
  try {
    for (const d of ["lower", "upper", "work", "merged"]) mkdirSync(`${t}/${d}`);
    const r = spawnToolSync(
      [
        unshare,
        "--user",
        "--map-root-user",
        "--mount",
        "--",
        "mount",
        "-t",
        "overlay",
        "overlay",
        "-o",
        `lowerdir=${t}/lower,upperdir=${t}/upper,workdir=${t}/work,userxattr`,
        `${t}/merged`,
      ],
      { stdin: "ignore", stdout: "ignore", stderr: "pipe" },
    );
    if (r.exitCode === 0) return undefined;
    return `mounting overlayfs in a user namespace failed: ${r.stderr.toString().trim().split("\n")[0]}`;
  } finally {
    try {
      // overlay made work/work with mode 0: its owner opens it to remove it.
      chmodSync(`${t}/work/work`, 0o700);
    } catch {
      // Not made (the mount failed before it): nothing to open.
    }
    rmSync(t, { recursive: true, force: true });
  }
}

/** Why the runtime cannot mount the root overlay in a user namespace here, or undefined when it can. */
export function usernsOverlayRefused(store: Store): string | undefined {
  const file = `${store.root}/overlay-userns.json`;
  const k = kernel();
  const dev = statSync(store.root).dev;
  try {
    const p = JSON.parse(readFileSync(file, "utf8")) as Probe;
    if (p.kernel === k && p.dev === dev) return p.refused;
  } catch {
    // No answer kept yet (or unreadable): probe below.
  }
  const refused = probeUsernsOverlay(store.root);
  const p: Probe = { kernel: k, dev, ...(refused === undefined ? {} : { refused }) };
  try {
    const tmp = `${file}.${process.pid}`;
    writeFileSync(tmp, JSON.stringify(p));
    renameSync(tmp, file);
  } catch {
    // Storage not writable just now: the next run probes again.
  }
  return refused;
}
