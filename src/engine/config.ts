// A container as the engine keeps it: what `leopard create/run` was asked for, with the image's
// defaults already applied (entrypoint, cmd, env, working dir, user, stop signal), stored as
// JSON in the engine's database and turned into config.json by spec.ts at every start.
import type { PortSpec, Ulimit, VolumeSpec } from "./flags.ts";

export interface ContainerConfig {
  /** The image's id (config digest) and the name it was asked by. */
  image: string;
  imageName: string;
  /** The command: entrypoint followed by cmd, as docker joins them. */
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workingDir: string;
  user: string;
  hostname: string;
  tty: boolean;
  interactive: boolean;
  readOnly: boolean;
  tmpfs: { destination: string; options: string[] }[];
  /** Bind mounts with host paths resolved (named volumes point into the volume store). */
  volumes: VolumeSpec[];
  memory?: number | undefined;
  memorySwap?: number | undefined;
  cpuQuota?: number | undefined;
  cpuPeriod?: number | undefined;
  cpuShares?: number | undefined;
  pidsLimit?: number | undefined;
  ulimits: Ulimit[];
  capAdd: string[];
  capDrop: string[];
  /** "default", "unconfined", or a profile's JSON text (read at create from --security-opt seccomp=FILE). */
  seccomp: string;
  noNewPrivileges: boolean;
  privileged: boolean;
  devices: { host: string; container: string; access: string }[];
  sysctls: Record<string, string>;
  labels: Record<string, string>;
  init: boolean;
  stopSignal: string;
  stopTimeout: number;
  /** "none", "host", "container:<id>", or network names (the default one: "leopard"). */
  network: string;
  publish: PortSpec[];
  dns: string[];
  addHosts: { name: string; ip: string }[];
  autoRemove: boolean;
  /** --log-opt max-size: conmon starts the log afresh past this many bytes (0: no limit). */
  logMaxSize?: number | undefined;
}

export const DEFAULT_STOP_TIMEOUT = 10;
