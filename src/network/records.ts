// What was attached, per container: `<runDir>/cni/<containerId>.json`. It holds, for each
// network, the exact configuration list, runtime values and CNI result of the ADD, because DEL
// must be given the same (portmap's DEL does nothing without the port mappings, the firewall's
// needs prevResult) even after the network's definition changed or went. Written before each ADD
// and again after it, atomically, so a crashed command leaves a record `prune` can finish.
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { writeFileAtomic } from "../sys/fs.ts";
import { join } from "../util/path.ts";
import type { Conflist } from "./conflist.ts";
import type { NetworkPaths } from "./paths.ts";
import type { RuntimeValues } from "./result.ts";

export interface AttachmentRecord {
  network: string;
  ifname: string;
  conflist: Conflist;
  runtime: RuntimeValues;
  /** The ADD's result; absent while the ADD runs or when it failed. */
  result?: unknown;
}

export interface ContainerRecord {
  containerId: string;
  netns: string;
  aliases: string[];
  attachments: AttachmentRecord[];
}

export function recordPath(paths: NetworkPaths, containerId: string): string {
  return join(paths.resultDir, `${containerId}.json`);
}

/** Creates the record; EEXIST when the container is already attached. */
export function createRecord(paths: NetworkPaths, rec: ContainerRecord): void {
  mkdirSync(paths.resultDir, { recursive: true, mode: 0o700 });
  const fd = openSync(recordPath(paths, rec.containerId), "wx", 0o600);
  try {
    writeSync(fd, JSON.stringify(rec));
  } finally {
    closeSync(fd);
  }
}

export function saveRecord(paths: NetworkPaths, rec: ContainerRecord): void {
  writeFileAtomic(recordPath(paths, rec.containerId), JSON.stringify(rec), 0o600);
}

export function loadRecord(paths: NetworkPaths, containerId: string): ContainerRecord | undefined {
  try {
    return JSON.parse(readFileSync(recordPath(paths, containerId), "utf8")) as ContainerRecord;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    if (e instanceof SyntaxError) return undefined; // torn by a crash before the rename: treat as gone
    throw e;
  }
}

export function deleteRecord(paths: NetworkPaths, containerId: string): void {
  rmSync(recordPath(paths, containerId), { force: true });
}

/** Ids of every container with a record. */
export function recordIds(paths: NetworkPaths): string[] {
  try {
    return readdirSync(paths.resultDir)
      .filter((f) => f.endsWith(".json"))
      .map((f) => f.slice(0, -5));
  } catch {
    return [];
  }
}
