// The container's state directory: <root>/<id>/{state.json, exec.fifo}. state.json is written
// atomically; the status is derived from the live process, never stored.
// Reading is on the hot path of every command and uses src/sys/io.ts, not node:fs (~20 ms to load);
// writing is create's, which loads node:fs anyway.
import { exists, type IoError, readDir, readText, removeTree } from "../sys/io.ts";
import { procStat } from "../sys/procstat.ts";
import { containerNotFound, LeopardError } from "../util/errors.ts";

const nodeFs = (): typeof import("node:fs") => require("node:fs");

export const DEFAULT_ROOT = "/run/leopard";
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
  /** pid of the `create` command while it runs; a dead creator means a failed create. */
  creatorPid?: number;
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

  /** Makes the container's directory; fails if the id is taken. */
  claim(id: string): void {
    checkId(id);
    const fs = nodeFs();
    fs.mkdirSync(this.root, { recursive: true, mode: 0o711 });
    try {
      fs.mkdirSync(this.dir(id), { mode: 0o711 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") {
        throw new LeopardError("exists", `container "${id}" already exists`);
      }
      throw e;
    }
  }

  write(s: StoredState): void {
    const { writeFileAtomic } = require("../sys/fs.ts") as typeof import("../sys/fs.ts");
    writeFileAtomic(`${this.dir(s.id)}/state.json`, JSON.stringify(s));
  }

  read(id: string): StoredState {
    checkId(id);
    let text: string;
    try {
      text = readText(`${this.dir(id)}/state.json`);
    } catch (e) {
      if ((e as IoError).code === "ENOENT") throw containerNotFound(id);
      throw e;
    }
    return JSON.parse(text) as StoredState;
  }

  ids(): string[] {
    try {
      return readDir(this.root)
        .map((e) => e.name)
        .filter((n) => ID.test(n) && exists(`${this.dir(n)}/state.json`));
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
      if (s.creatorPid !== undefined && isAlive(s.creatorPid, procStat(s.creatorPid)?.startTime ?? "-"))
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
