// The container's state directory: <root>/<id>/{state.json, exec.fifo}. state.json is written
// atomically; the status is derived from the live process, never stored. `create` writes a first
// record with the directory, before it makes anything else (cgroups, the helper), so a create
// killed half-way is listed ("stopped" once its creator is gone) and `delete` finds what it made.
// A directory without state.json (killed between mkdir and that write) reads as a stopped
// container with nothing recorded.
// Reading and writing use src/sys/io.ts and fs-sync.ts, not node:fs (~10 ms to load).

import { mkdirSync, type Stats, statSync } from "../sys/fs-sync.ts";
import { DT_DIR, DT_UNKNOWN, exists, type IoError, readDir, readText, removeTree } from "../sys/io.ts";
import { procStat } from "../sys/procstat.ts";
import { containerNotFound, LeopardError } from "../util/errors.ts";

export const OCI_VERSION = "1.2.0";

export type Status = "creating" | "created" | "running" | "stopped" | "paused";

/** What state.json holds. */
export interface StoredState {
  ociVersion: string;
  id: string;
  /** 0 while creating. */
  pid: number;
  /** Clock ticks since boot when init started: tells a recycled pid from ours. */
  pidStartTime: string;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations: Record<string, string>;
  /** True once the container has its own PID namespace (kill --all may signal it whole). */
  ownPidNamespace: boolean;
  /** The container's cgroup in each hierarchy (src/cgroups CgroupPaths). */
  cgroupPaths?: Record<string, string>;
  /** With --systemd-cgroup: the scope unit holding the cgroup, stopped by delete. */
  systemdScope?: string;
  /** The manager that made it: the user's own (rootless, runc's systemd driver), else the system's. */
  systemdBus?: "user";
  /** pid of the `create` command while it runs; a dead creator means a failed create. */
  creatorPid?: number;
  /** The creator's start time (a recycled pid is not the creator). */
  creatorStartTime?: string;
  /** The helper while the container is being created: delete kills it if create was killed. */
  helperPid?: number;
  helperStartTime?: string;
}

/** What `state` prints (runc's shape). */
export interface PublicState {
  ociVersion: string;
  id: string;
  pid: number;
  status: Status;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
}

const ID = /^[\w+\-.]+$/;

export function checkId(id: string): void {
  if (!ID.test(id) || id === "." || id === "..") {
    throw new LeopardError(
      "invalid-argument",
      `invalid container id "${id}": use letters, digits, "_", "+", "-" and "."`,
    );
  }
}

export class StateDir {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return `${this.root}/${id}`;
  }
  fifo(id: string): string {
    return `${this.dir(id)}/exec.fifo`;
  }

  /**
   * Makes the container's directory with its first record in it (what create is about to make);
   * fails if the id is taken.
   */
  claim(s: StoredState): void {
    checkId(s.id);
    try {
      mkdirSync(this.root, { recursive: true, mode: 0o711 });
      mkdirSync(this.dir(s.id), { mode: 0o711 });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EEXIST") {
        throw new LeopardError("exists", `container "${s.id}" already exists`);
      }
      // EACCES, EROFS…: a state root this user cannot write (a rootless caller given --root /run/…).
      throw new LeopardError(
        "invalid-argument",
        `cannot make the state directory under --root "${this.root}": ${(e as Error).message.split(",")[0]}${code === "EACCES" || code === "EPERM" ? " (a rootless caller keeps state under $XDG_RUNTIME_DIR/leopard, the default)" : ""}`,
        { cause: e, path: this.root },
      );
    }
    try {
      this.write(s);
    } catch (e) {
      this.remove(s.id);
      throw e;
    }
  }

  write(s: StoredState): void {
    const { writeFileAtomic } = require("../sys/fs.ts") as typeof import("../sys/fs.ts");
    writeFileAtomic(`${this.dir(s.id)}/state.json`, JSON.stringify(s), 0o644, false);
  }

  read(id: string): StoredState {
    checkId(id);
    let text: string;
    try {
      text = readText(`${this.dir(id)}/state.json`);
    } catch (e) {
      const code = (e as IoError).code;
      if (code === "ENOENT") return this.unrecorded(id);
      if (code === "ENOTDIR") throw containerNotFound(id);
      throw e;
    }
    return JSON.parse(text) as StoredState;
  }

  /** A directory without state.json: a create killed before its first record, stopped. */
  private unrecorded(id: string): StoredState {
    if (!exists(this.dir(id))) throw containerNotFound(id);
    let st: Stats;
    try {
      st = statSync(this.dir(id));
    } catch {
      throw containerNotFound(id);
    }
    if (!st.isDirectory()) throw containerNotFound(id);
    return {
      ociVersion: OCI_VERSION,
      id,
      pid: 0,
      pidStartTime: "",
      bundle: "",
      rootfs: "",
      created: st.mtime.toISOString(),
      owner: "",
      annotations: {},
      ownPidNamespace: false,
    };
  }

  /** Every container's id: each directory named like one (a half-made one too). */
  ids(): string[] {
    try {
      return readDir(this.root)
        .filter((e) => (e.type === DT_DIR || e.type === DT_UNKNOWN) && ID.test(e.name))
        .map((e) => e.name);
    } catch {
      return [];
    }
  }

  remove(id: string): void {
    removeTree(this.dir(id));
  }

  /** The status, from the process and the FIFO (present until `start`). */
  status(s: StoredState): Status {
    if (s.pid === 0) {
      // A record without the creator's start time (an older create) trusts the pid alone.
      const creator = s.creatorPid;
      if (
        creator !== undefined &&
        isAlive(creator, s.creatorStartTime ?? procStat(creator)?.startTime ?? "-")
      )
        return "creating";
      return "stopped";
    }
    if (!isAlive(s.pid, s.pidStartTime)) return "stopped";
    if (exists(this.fifo(s.id))) return "created";
    return "running";
  }

  /** What `state` prints; `frozen` tells a paused container (its cgroup is the runtime's business). */
  public(s: StoredState, frozen: (s: StoredState) => boolean = () => false): PublicState {
    let status = this.status(s);
    if (status === "running" && frozen(s)) status = "paused";
    const out: PublicState = {
      ociVersion: s.ociVersion,
      id: s.id,
      pid: status === "stopped" ? 0 : s.pid,
      status,
      bundle: s.bundle,
      rootfs: s.rootfs,
      created: s.created,
      owner: s.owner,
    };
    if (Object.keys(s.annotations).length > 0) out.annotations = s.annotations;
    return out;
  }
}

/** A pid is ours only while it runs and started when ours did; a zombie counts as gone. */
export function isAlive(pid: number, startTime: string): boolean {
  const st = procStat(pid);
  return st !== undefined && st.startTime === startTime && st.state !== "Z";
}
