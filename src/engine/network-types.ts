// The network side's types, in a leaf file: network.ts and network-cni.ts import these rather
// than engine.ts (which imports them), so no import goes around a cycle (src/layers.test.ts).
import type { ContainerRecord } from "./db.ts";
import type { EngineDirs } from "./dirs.ts";

export interface AttachedNetwork {
  /** The namespace to join; undefined: a new one ("none") or none at all ("host"). */
  netnsPath: string | undefined;
  addresses: string[];
  networks: ContainerRecord["networks"];
  /** Containers sharing a network: /etc/hosts names them. */
  peers?: { ip: string; names: string[] }[];
  /** Rootless: slirp4netns wires the container's own namespace to the host (a createRuntime hook). */
  slirp?: boolean;
}

/** What the CNI side uses of the Engine: its directories, its containers and their bundles. */
export interface NetworkHost {
  readonly dirs: EngineDirs;
  readonly db: { all(): ContainerRecord[] };
  bundle(id: string): string;
}
