// The image layer as the engine (and the CLI) use it: a store, images found locally or pulled,
// their run configuration, and root filesystems for containers.
import type { ImageRecord } from "./db.ts";
import { parseConfig } from "./oci.ts";
import { type PullOptions, pull } from "./pull.ts";
import type { Store } from "./store.ts";

export type { ImageRecord } from "./db.ts";
export type { PullOptions } from "./pull.ts";
export { pull } from "./pull.ts";
export { type PreparedRootfs, prepareRootfs, type RootfsOptions, removeRootfs } from "./rootfs.ts";
export { DEFAULT_STORAGE, defaultStorage, Store } from "./store.ts";

/** The image by name or id from the store, pulled first when absent (docker run's habit). */
export async function ensureImage(store: Store, name: string, opts: PullOptions = {}): Promise<ImageRecord> {
  return store.find(name) ?? (await pull(store, name, opts));
}

/** What a container made from the image runs by default (the config's "config" section). */
export interface RunConfig {
  env: string[];
  entrypoint: string[];
  cmd: string[];
  workingDir: string;
  user: string;
  labels: Record<string, string>;
  exposedPorts: string[];
  stopSignal: string | undefined;
  /** The image's Volumes: mount points that get a fresh volume in every container. */
  volumes: string[];
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

export function runConfig(store: Store, img: ImageRecord): RunConfig {
  const c = (parseConfig(store.readBlob(img.id), `config "${img.id}"`).config ?? {}) as Record<
    string,
    unknown
  >;
  const labels =
    typeof c["Labels"] === "object" && c["Labels"] !== null ? (c["Labels"] as Record<string, string>) : {};
  const ports =
    typeof c["ExposedPorts"] === "object" && c["ExposedPorts"] !== null ? Object.keys(c["ExposedPorts"]) : [];
  return {
    env: strings(c["Env"]),
    entrypoint: strings(c["Entrypoint"]),
    cmd: strings(c["Cmd"]),
    workingDir: typeof c["WorkingDir"] === "string" ? c["WorkingDir"] : "",
    user: typeof c["User"] === "string" ? c["User"] : "",
    labels,
    exposedPorts: ports,
    stopSignal: typeof c["StopSignal"] === "string" ? c["StopSignal"] : undefined,
    volumes: typeof c["Volumes"] === "object" && c["Volumes"] !== null ? Object.keys(c["Volumes"]) : [],
  };
}
