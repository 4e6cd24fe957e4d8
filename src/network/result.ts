// The CNI protocol's data, pure: the configuration each plugin of a list receives (CNI spec
// section 3, "Deriving execution configuration from plugin configuration") and the summary of a
// result the engine needs (interface, address, gateway, MAC).
import { LeopardError } from "../util/errors.ts";
import type { Conflist, PluginConf } from "./conflist.ts";

/** One published port, in the portMappings capability's shape. */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: "tcp" | "udp";
  /** Empty or absent: every host address. */
  hostIP?: string;
}

/** Values offered to plugins through capabilities; each goes only to plugins that declare it. */
export interface RuntimeValues {
  portMappings?: PortMapping[];
  ips?: string[];
  aliases?: Record<string, string[]>;
}

/**
 * The stdin of one plugin of a list: the plugin's object plus the list's name and cniVersion,
 * runtimeConfig holding only the capabilities the plugin declared, and prevResult when given.
 */
export function pluginInput(
  list: Conflist,
  plugin: PluginConf,
  runtime: RuntimeValues,
  prevResult: unknown,
): Record<string, unknown> {
  const { capabilities, ...rest } = plugin;
  const input: Record<string, unknown> = { ...rest, name: list.name, cniVersion: list.cniVersion };
  const rc: Record<string, unknown> = {};
  for (const [cap, on] of Object.entries(capabilities ?? {})) {
    const v = (runtime as Record<string, unknown>)[cap];
    if (on && v !== undefined) rc[cap] = v;
  }
  if (Object.keys(rc).length > 0) input["runtimeConfig"] = rc;
  if (prevResult !== undefined) input["prevResult"] = prevResult;
  return input;
}

/** What the engine needs of one network attachment. */
export interface Attachment {
  network: string;
  /** The interface inside the container, e.g. "eth0". */
  ifname: string;
  /** "10.89.0.2" */
  ip: string;
  /** 24 for "10.89.0.2/24". */
  prefixLength: number;
  gateway: string;
  mac: string;
  /** The host end of the veth pair, e.g. "veth3f0c…"; "" when the result does not say. */
  hostVeth: string;
}

interface ResultIface {
  name?: string;
  mac?: string;
  sandbox?: string;
}
interface ResultIp {
  address?: string;
  gateway?: string;
  interface?: number;
}

/** Summarises a CNI 1.0 result for the interface `ifname`; throws when it has no IPv4 address. */
export function summarizeResult(network: string, ifname: string, result: unknown): Attachment {
  const r = (result ?? {}) as { interfaces?: ResultIface[]; ips?: ResultIp[] };
  const ifaces = r.interfaces ?? [];
  const ctrIndex = ifaces.findIndex((i) => i.name === ifname && i.sandbox !== undefined && i.sandbox !== "");
  const ip = (r.ips ?? []).find(
    (x) =>
      typeof x.address === "string" && x.address.includes(".") && (ctrIndex < 0 || x.interface === ctrIndex),
  );
  const m = ip?.address === undefined ? null : /^([0-9.]+)\/([0-9]+)$/.exec(ip.address);
  if (m === null)
    throw new LeopardError(
      "system",
      `network "${network}": the CNI result has no IPv4 address for "${ifname}"`,
    );
  const host = ifaces.find(
    (i, n) => n !== ctrIndex && (i.sandbox === undefined || i.sandbox === "") && i.name?.startsWith("veth"),
  );
  return {
    network,
    ifname,
    ip: m[1]!,
    prefixLength: Number(m[2]),
    gateway: ip?.gateway ?? "",
    mac: ctrIndex >= 0 ? (ifaces[ctrIndex]?.mac ?? "") : "",
    hostVeth: host?.name ?? "",
  };
}

/** A CNI error object on a plugin's stdout: {code, msg, details}. */
export function pluginErrorMessage(stdout: string, stderr: string, exitCode: number): string {
  try {
    const e = JSON.parse(stdout) as { code?: number; msg?: string; details?: string };
    if (typeof e.msg === "string") return e.details ? `${e.msg}: ${e.details}` : e.msg;
  } catch {
    // stdout is not a CNI error object: fall back to stderr and the exit code
  }
  const text = (stderr.trim() || stdout.trim()).split("\n")[0];
  return text ? text : `exit status ${exitCode}`;
}
