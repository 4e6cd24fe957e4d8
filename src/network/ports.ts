// Published ports: docker's `-p` syntax, validation, and the checks that make a taken port a
// clear error instead of a silently shadowed DNAT rule.
import { LeopardError } from "../util/errors.ts";
import type { PortMapping } from "./result.ts";
import { parseIp } from "./subnet.ts";

function port(s: string, what: string, spec: string): number {
  if (!/^[0-9]{1,5}$/.test(s) || Number(s) < 1 || Number(s) > 65535)
    throw new LeopardError(
      "invalid-argument",
      `publish "${spec}": ${what} "${s}" is not a port number (1-65535)`,
    );
  return Number(s);
}

/**
 * `-p [hostIP:][hostPort:]containerPort[/tcp|/udp]`. Without a host port the container port is
 * used (docker would pick a random one; an engine that wants that passes its own choice).
 */
export function parsePublish(spec: string): PortMapping {
  const [addr = "", proto = "tcp", extra] = spec.split("/");
  if (extra !== undefined || (proto !== "tcp" && proto !== "udp"))
    throw new LeopardError("invalid-argument", `publish "${spec}": protocol must be tcp or udp`);
  const parts = addr.split(":");
  if (parts.length > 3 || parts.some((p, i) => p === "" && !(parts.length === 3 && i === 1)))
    throw new LeopardError(
      "invalid-argument",
      `publish "${spec}" is not [hostIP:][hostPort:]containerPort[/proto]`,
    );
  const containerPort = port(parts[parts.length - 1]!, "container port", spec);
  const hostPortStr = parts.length >= 2 ? parts[parts.length - 2]! : "";
  const hostPort = hostPortStr === "" ? containerPort : port(hostPortStr, "host port", spec);
  const m: PortMapping = { hostPort, containerPort, protocol: proto };
  if (parts.length === 3) {
    parseIp(parts[0]!, `publish "${spec}": host address`);
    if (parts[0] !== "0.0.0.0") m.hostIP = parts[0]!;
  }
  return m;
}

export function validateMappings(maps: readonly PortMapping[]): void {
  for (const m of maps) {
    const what = `${m.hostIP ? `${m.hostIP}:` : ""}${m.hostPort}:${m.containerPort}/${m.protocol}`;
    for (const p of [m.hostPort, m.containerPort])
      if (!Number.isInteger(p) || p < 1 || p > 65535)
        throw new LeopardError("invalid-argument", `publish "${what}": port ${p} is out of range`);
    if (m.protocol !== "tcp" && m.protocol !== "udp")
      throw new LeopardError("invalid-argument", `publish "${what}": protocol must be tcp or udp`);
    if (m.hostIP) parseIp(m.hostIP, `publish "${what}": host address`);
  }
}

function label(m: PortMapping): string {
  return `${m.hostIP || "0.0.0.0"}:${m.hostPort}/${m.protocol}`;
}

/** Two mappings collide when protocol and host port match and either covers every address. */
export function collides(a: PortMapping, b: PortMapping): boolean {
  return (
    a.protocol === b.protocol &&
    a.hostPort === b.hostPort &&
    (!a.hostIP || !b.hostIP || a.hostIP === b.hostIP)
  );
}

/**
 * The first collision between wanted mappings, among themselves and with other containers'
 * (`owner` names the container holding each); a one-line error or undefined.
 */
export function findCollision(
  wanted: readonly PortMapping[],
  others: readonly { owner: string; mapping: PortMapping }[],
): string | undefined {
  for (const [i, w] of wanted.entries()) {
    for (const x of wanted.slice(0, i)) if (collides(w, x)) return `port ${label(w)} is published twice`;
    for (const o of others)
      if (collides(w, o.mapping)) return `port ${label(w)} is already published by container "${o.owner}"`;
  }
  return undefined;
}

/** Binds each host port for a moment: a process already listening there makes a clear error. */
export async function probeHostPorts(maps: readonly PortMapping[]): Promise<void> {
  for (const m of maps) {
    const hostname = m.hostIP || "0.0.0.0";
    try {
      if (m.protocol === "tcp") {
        const l = Bun.listen({ hostname, port: m.hostPort, socket: { data() {} } });
        l.stop(true);
      } else {
        const s = await Bun.udpSocket({ hostname, port: m.hostPort });
        s.close();
      }
    } catch (e) {
      const code = (e as { code?: string }).code ?? "";
      const why = code === "EADDRINUSE" ? "is already in use" : `cannot be bound (${(e as Error).message})`;
      throw new LeopardError("exists", `port ${label(m)} ${why}`, { cause: e });
    }
  }
}
