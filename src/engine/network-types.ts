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
  /** Rootless: pasta or slirp4netns wires the container's own namespace to the host (a createRuntime hook). */
  slirp?: RootlessNet | undefined;
}

/** The program that wires a rootless container's own network namespace to the host. */
export type RootlessNet = "pasta" | "slirp4netns";

/**
 * Which one for --network n: "pasta" and "slirp4netns" name their program (as podman's modes do);
 * any other network takes pasta where it is installed, else slirp4netns; undefined: neither is.
 */
export function chooseRootlessNet(
  n: string,
  installed: { pasta: boolean; slirp4netns: boolean },
): RootlessNet | undefined {
  if (n === "pasta" || n === "slirp4netns") return installed[n] ? n : undefined;
  return installed.pasta ? "pasta" : installed.slirp4netns ? "slirp4netns" : undefined;
}

/** What the CNI side uses of the Engine: its directories, its containers and their bundles. */
export interface NetworkHost {
  readonly dirs: EngineDirs;
  readonly db: { all(): ContainerRecord[] };
  bundle(id: string): string;
}
