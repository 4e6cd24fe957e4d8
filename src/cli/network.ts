// `leopard network create|ls|rm|inspect|check|reload`: bridge networks as CNI configuration lists.

import { defaultRunDir } from "../engine/dirs.ts";
import { networkPathsFor } from "../engine/network-cni.ts";
import {
  createNetwork,
  getNetwork,
  listNetworks,
  type NetworkInfo,
  type NetworkPaths,
  reloadNetworkFirewall,
  removeNetwork,
} from "../network/index.ts";
import { describe, LeopardError } from "../util/errors.ts";
import { openEngine } from "./engine-common.ts";
import { formatRows, isTemplate } from "./format.ts";
import type { Globals, Values, Verb } from "./image-common.ts";

/** Networks live beside the images: <storage>/networks and <storage>/ipam unless the env says. */
export function pathsFor(g: Globals): NetworkPaths {
  return networkPathsFor({ storage: g.storage, run: g.run ?? defaultRunDir() });
}

function str(v: Values, k: string): string | undefined {
  const x = v[k];
  return typeof x === "string" ? x : undefined;
}

const createVerb: Verb = {
  usage: "network create [--subnet CIDR] [--gateway IP] NAME",
  options: {
    subnet: { type: "string" },
    gateway: { type: "string" },
    driver: { type: "string", short: "d" },
  },
  args: ["NAME"],
  async run(g, v, a) {
    const driver = str(v, "driver");
    if (driver !== undefined && driver !== "bridge")
      throw new LeopardError("invalid-argument", `driver "${driver}" is not supported (only "bridge")`);
    const subnet = str(v, "subnet");
    const gateway = str(v, "gateway");
    const net = await createNetwork(pathsFor(g), {
      name: a[0]!,
      ...(subnet === undefined ? {} : { subnet }),
      ...(gateway === undefined ? {} : { gateway }),
    });
    process.stdout.write(`${net.info.name}\n`);
    return 0;
  },
};

function table(nets: readonly NetworkInfo[]): string {
  const rows = [["NAME", "DRIVER", "SUBNET", "GATEWAY", "BRIDGE"]];
  for (const n of nets) rows.push([n.name, n.driver, n.subnet, n.gateway, n.bridge]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) => `${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join("")}\n`)
    .join("");
}

const lsVerb: Verb = {
  usage: "network ls [-q] [--format table|json|TEMPLATE]",
  options: { quiet: { type: "boolean", short: "q" }, format: { type: "string" } },
  args: [],
  async run(g, v) {
    const format = str(v, "format") ?? "table";
    const nets = (await listNetworks(pathsFor(g))).map((n) => n.info);
    if (isTemplate(format) && v["quiet"] !== true) {
      const rows = nets.map((n) => ({
        Name: n.name,
        ID: n.name,
        Driver: n.driver,
        Scope: "local",
        Subnet: n.subnet,
        Gateway: n.gateway,
        Bridge: n.bridge,
      }));
      process.stdout.write(formatRows(format, rows, { ID: "NETWORK ID" }, ""));
    } else if (v["quiet"] === true) process.stdout.write(nets.map((n) => `${n.name}\n`).join(""));
    else process.stdout.write(table(nets));
    return 0;
  },
};

/** Runs f for each name; failures are printed one per line and make the exit status 1. */
async function each(
  verb: string,
  names: readonly string[],
  f: (n: string) => Promise<void>,
): Promise<number> {
  let status = 0;
  for (const n of names) {
    try {
      await f(n);
    } catch (e) {
      process.stderr.write(`leopard: network ${verb} ${n}: ${describe(e)}\n`);
      status = 1;
    }
  }
  return status;
}

const rmVerb: Verb = {
  usage: "network rm NAME...",
  options: {},
  args: ["NAME..."],
  run(g, _v, a) {
    const paths = pathsFor(g);
    return each("rm", a, async (n) => {
      // The engine's containers configured on the network, stopped ones too.
      const engine = openEngine(g);
      let users: string[];
      try {
        users = engine.db
          .all()
          .filter((c) => c.config.network.split(",").includes(n))
          .map((c) => c.name);
      } finally {
        engine.close();
      }
      await removeNetwork(paths, n, { inUse: () => users });
      process.stdout.write(`${n}\n`);
    });
  },
};

const inspectVerb: Verb = {
  usage: "network inspect NAME...",
  options: {},
  args: ["NAME..."],
  async run(g, _v, a) {
    const paths = pathsFor(g);
    const out: unknown[] = [];
    const status = await each("inspect", a, async (n) => {
      const net = await getNetwork(paths, n);
      out.push({ ...net.info, config: net.conflist });
    });
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return status;
  },
};

/** `network check CONTAINER...`: CNI CHECK of each network a running container is on. */
const checkVerb: Verb = {
  usage: "network check CONTAINER...",
  options: {},
  args: ["CONTAINER..."],
  async run(g, _v, a) {
    const paths = pathsFor(g);
    const { check } = await import("../network/index.ts");
    const engine = openEngine(g);
    try {
      return await each("check", a, async (ref) => {
        const c = engine.db.get(ref);
        if (Object.keys(c.networks).length === 0)
          throw new LeopardError("bad-state", `container ${c.name} is not attached to a network`);
        await check(paths, c.id);
        process.stdout.write(`${c.name}: ok\n`);
      });
    } finally {
      engine.close();
    }
  },
};

/** `network reload [NAME...]`: the networks' own iptables rules again (all networks by default). */
const reloadVerb: Verb = {
  usage: "network reload [NAME...]",
  options: {},
  args: ["NAME...?"],
  async run(g, _v, a) {
    const paths = pathsFor(g);
    const names = a.length > 0 ? a : (await listNetworks(paths)).map((n) => n.info.name);
    return each("reload", names, async (n) => {
      await reloadNetworkFirewall(paths, (await getNetwork(paths, n)).info);
      process.stdout.write(`${n}\n`);
    });
  },
};

/** `leopard network <sub>`. */
export const NETWORK_VERBS: Record<string, Verb> = {
  create: createVerb,
  ls: lsVerb,
  list: lsVerb,
  rm: rmVerb,
  remove: rmVerb,
  inspect: inspectVerb,
  check: checkVerb,
  reload: reloadVerb,
};
