// `leopard container inspect`, `top`, `port`: a container as JSON close to docker's shape, its
// processes, its published ports.
import type { ContainerRecord } from "../engine/db.ts";
import type { Engine } from "../engine/engine.ts";
import { refresh } from "../engine/lifecycle.ts";
import { psTable } from "../runtime/ps.ts";
import { describe, LeopardError } from "../util/errors.ts";
import { openEngine } from "./engine-common.ts";
import { renderEach } from "./format.ts";
import { type Globals, str, type Verb } from "./image-common.ts";

export function inspectJson(e: Engine, c: ContainerRecord): Record<string, unknown> {
  const k = c.config;
  const argv = [...k.entrypoint, ...k.cmd];
  return {
    Id: c.id,
    Created: c.created,
    Path: argv[0] ?? "",
    Args: argv.slice(1),
    State: {
      Status: c.state,
      Running: c.state === "running" || c.state === "paused",
      Paused: c.state === "paused",
      Pid: c.pid,
      OOMKilled: c.oomKilled === true,
      ExitCode: c.exitCode,
      StartedAt: c.startedAt,
      FinishedAt: c.finishedAt,
    },
    Image: k.image,
    Name: `/${c.name}`,
    RestartCount: c.restarts,
    Driver: e.store.meta.rootfs(c.id)?.kind ?? "",
    Mounts: k.volumes.map((v) => ({
      Type: v.named ? "volume" : "bind",
      ...(v.named ? { Name: v.source } : {}),
      Source: v.hostPath ?? v.source,
      Destination: v.destination,
      RW: !v.readonly,
    })),
    Config: {
      Hostname: k.hostname,
      User: k.user,
      Tty: k.tty,
      OpenStdin: k.interactive,
      Env: k.env,
      // docker's null for a list that is not set.
      Cmd: k.cmd.length > 0 ? k.cmd : null,
      Entrypoint: k.entrypoint.length > 0 ? k.entrypoint : null,
      WorkingDir: k.workingDir,
      Image: k.imageName,
      Labels: k.labels,
      StopSignal: k.stopSignal,
      StopTimeout: k.stopTimeout,
    },
    HostConfig: {
      NetworkMode: k.network,
      PortBindings: Object.fromEntries(
        k.publish.map((p) => [
          `${p.containerPort}/${p.protocol}`,
          [{ HostIp: p.hostIP, HostPort: String(p.hostPort) }],
        ]),
      ),
      AutoRemove: k.autoRemove,
      Privileged: k.privileged,
      ReadonlyRootfs: k.readOnly,
      CapAdd: k.capAdd,
      CapDrop: k.capDrop,
      Memory: k.memory ?? 0,
      MemorySwap: k.memorySwap ?? 0,
      // --cpus is docker's NanoCpus (its quota and period fields stay 0).
      NanoCpus: k.cpuQuota === undefined ? 0 : Math.round((k.cpuQuota * 1e9) / (k.cpuPeriod ?? 100_000)),
      CpuQuota: 0,
      CpuPeriod: 0,
      CpuShares: k.cpuShares ?? 0,
      PidsLimit: k.pidsLimit ?? 0,
      Init: k.init,
      Dns: k.dns,
      ExtraHosts: k.addHosts.map((h) => `${h.name}:${h.ip}`),
      Tmpfs: Object.fromEntries(k.tmpfs.map((t) => [t.destination, t.options.join(",")])),
    },
    NetworkSettings: {
      Networks: Object.fromEntries(
        Object.entries(c.networks).map(([n, r]) => [
          n,
          { IPAddress: r.ip, Gateway: r.gateway, MacAddress: r.mac },
        ]),
      ),
      IPAddress: Object.values(c.networks)[0]?.ip ?? "",
      Ports: Object.fromEntries(
        k.publish.map((p) => [
          `${p.containerPort}/${p.protocol}`,
          [{ HostIp: p.hostIP || "0.0.0.0", HostPort: String(p.hostPort) }],
        ]),
      ),
    },
  };
}

const FORMAT = { format: { type: "string", short: "f" } } as const;

export const containerInspectVerb: Verb = {
  usage: "container inspect [-f TEMPLATE] CONTAINER...",
  options: FORMAT,
  args: ["CONTAINER..."],
  run: (g, v, a) => inspectAll(g, a, "container", str(v, "format")),
};

export const topVerb: Verb = {
  usage: "top CONTAINER [PS OPTIONS]",
  options: {},
  args: ["CONTAINER"],
  rest: true,
  run: async (g, _v, a) => {
    const [ref = "", ...psArgs] = a;
    const engine = openEngine(g);
    try {
      const c = await refresh(engine, engine.db.get(ref));
      if (c.state !== "running" && c.state !== "paused")
        throw new LeopardError("bad-state", `container ${c.name} is not running`);
      process.stdout.write(psTable(engine.oci, c.id, psArgs.length > 0 ? psArgs : ["-ef"]));
      return 0;
    } finally {
      engine.close();
    }
  },
};

export const portVerb: Verb = {
  usage: "port CONTAINER [PRIVATE_PORT[/PROTO]]",
  options: {},
  args: ["CONTAINER", "PORT?"],
  run: (g, _v, a) => {
    const engine = openEngine(g);
    try {
      const c = engine.db.get(a[0] ?? "");
      const want = a[1];
      for (const p of c.config.publish) {
        const key = `${p.containerPort}/${p.protocol}`;
        if (want !== undefined && want !== key && want !== String(p.containerPort)) continue;
        const host = `${p.hostIP || "0.0.0.0"}:${p.hostPort}`;
        process.stdout.write(want === undefined ? `${key} -> ${host}\n` : `${host}\n`);
      }
      return 0;
    } finally {
      engine.close();
    }
  },
};

/** `leopard inspect`: containers by name or id, else images, as docker's inspect does. */
export const anyInspectVerb: Verb = {
  usage: "inspect [-f TEMPLATE] [--type container|image] NAME|ID...",
  options: { type: { type: "string" }, ...FORMAT },
  args: ["NAME..."],
  run: (g, v, a) => {
    const type = v["type"];
    if (type !== undefined && type !== "container" && type !== "image")
      throw new LeopardError("invalid-argument", `--type "${String(type)}" must be container or image`);
    return inspectAll(g, a, type, str(v, "format"));
  },
};

/** Containers by name or id (unless only images are wanted), else images; one JSON array. */
async function inspectAll(
  g: Globals,
  refs: string[],
  type: "container" | "image" | undefined,
  format: string | undefined,
): Promise<number> {
  const { inspectImage } = await import("../image/manage.ts");
  const engine = openEngine(g);
  const out: unknown[] = [];
  let failed = false;
  try {
    for (const ref of refs) {
      try {
        const c = type === "image" ? undefined : engine.db.find(ref);
        if (c) out.push(inspectJson(engine, await refresh(engine, c)));
        else if (type === "container") throw new LeopardError("not-found", `no such container: ${ref}`);
        else out.push(inspectImage(engine.store, engine.store.resolve(ref)));
      } catch (e) {
        failed = true;
        process.stderr.write(`leopard: inspect ${ref}: ${describe(e)}\n`);
      }
    }
  } finally {
    engine.close();
  }
  process.stdout.write(renderEach(format, out));
  return failed ? 1 : 0;
}
