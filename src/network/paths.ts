// Where networking keeps its files, and the knobs tests turn. Everything has a default for the
// engine; LEOPARD_NETWORK_DIR, LEOPARD_IPAM_DIR, LEOPARD_RUN_DIR, LEOPARD_CNI_PATH,
// LEOPARD_BRIDGE_PREFIX and LEOPARD_SUBNET_POOL override.

import { LeopardError } from "../util/errors.ts";
import { join } from "../util/path.ts";

export interface NetworkOptions {
  /** Network definitions, one `<name>.conflist` each. Default /var/lib/leopard/networks. */
  configDir?: string;
  /** host-local's dataDir for networks created from now on. Default /var/lib/leopard/ipam. */
  ipamDir?: string;
  /** Pinned namespaces (`netns/<id>`) and CNI results (`cni/<id>.json`). Default /run/leopard. */
  runDir?: string;
  /** Directories searched for plugin binaries. Default /usr/lib/cni, /opt/cni/bin. */
  pluginDirs?: string[];
  /** Bridges are `<prefix>0` (the default network), `<prefix>1`, … Default "leopard". */
  bridgePrefix?: string;
  /** Subnets of new networks are /24s from this pool; the default network gets the first free. */
  subnetPool?: string;
}

export interface NetworkPaths {
  configDir: string;
  ipamDir: string;
  runDir: string;
  netnsDir: string;
  resultDir: string;
  pluginDirs: string[];
  bridgePrefix: string;
  subnetPool: string;
}

export function networkPaths(o: NetworkOptions = {}): NetworkPaths {
  const env = process.env;
  const runDir = o.runDir ?? env["LEOPARD_RUN_DIR"] ?? "/run/leopard";
  return {
    configDir: o.configDir ?? env["LEOPARD_NETWORK_DIR"] ?? "/var/lib/leopard/networks",
    ipamDir: o.ipamDir ?? env["LEOPARD_IPAM_DIR"] ?? "/var/lib/leopard/ipam",
    runDir,
    netnsDir: join(runDir, "netns"),
    resultDir: join(runDir, "cni"),
    pluginDirs: o.pluginDirs ?? (env["LEOPARD_CNI_PATH"] ?? "/usr/lib/cni:/opt/cni/bin").split(":"),
    bridgePrefix: o.bridgePrefix ?? env["LEOPARD_BRIDGE_PREFIX"] ?? "leopard",
    subnetPool: o.subnetPool ?? env["LEOPARD_SUBNET_POOL"] ?? "10.89.0.0/16",
  };
}

/** Container ids become file names and CNI_CONTAINERID; keep them to a safe alphabet. */
export function validateContainerId(id: string): void {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/.test(id))
    throw new LeopardError("invalid-argument", `container id "${id}" is not valid`);
}
