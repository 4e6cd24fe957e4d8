// `leopard ps`: containers in docker's table (or JSON), running ones by default, -a for all,
// -q for ids, --filter name=|status=|label=|id=.
import type { ContainerRecord } from "../engine/db.ts";
import { refresh, short } from "../engine/lifecycle.ts";
import { LeopardError } from "../util/errors.ts";
import { ago, openEngine, strs, table } from "./engine-common.ts";
import { formatRows, isTemplate } from "./format.ts";
import { str, type Verb } from "./image-common.ts";

export function statusText(c: ContainerRecord, now = Date.now()): string {
  switch (c.state) {
    case "created":
      return "Created";
    case "running":
      return `Up ${ago(c.startedAt, now)}`;
    case "paused":
      return `Up ${ago(c.startedAt, now)} (Paused)`;
    case "exited":
      return `Exited (${c.exitCode}) ${ago(c.finishedAt, now)} ago`;
  }
}

export function portsText(c: ContainerRecord): string {
  return c.config.publish
    .map((p) => `${p.hostIP || "0.0.0.0"}:${p.hostPort}->${p.containerPort}/${p.protocol}`)
    .join(", ");
}

type Filter = (c: ContainerRecord) => boolean;

export function parseFilter(f: string): Filter {
  const i = f.indexOf("=");
  const key = f.slice(0, i);
  const val = f.slice(i + 1);
  switch (key) {
    case "name":
      return (c) => c.name.includes(val);
    case "id":
      return (c) => c.id.startsWith(val);
    case "status":
      return (c) => c.state === val;
    case "label": {
      const j = val.indexOf("=");
      return j < 0
        ? (c) => val in c.config.labels
        : (c) => c.config.labels[val.slice(0, j)] === val.slice(j + 1);
    }
    case "ancestor":
      return (c) => c.config.imageName === val || c.config.image === val;
    default:
      throw new LeopardError(
        "invalid-argument",
        `--filter "${f}": filter by name, id, status, label or ancestor`,
      );
  }
}

/** docker's time format for CreatedAt: "2026-12-07 03:53:50 +0000 UTC". */
export function dockerTime(iso: string): string {
  if (iso === "") return "";
  return `${new Date(iso).toISOString().slice(0, 19).replace("T", " ")} +0000 UTC`;
}

const labelsText = (l: Record<string, string>): string =>
  Object.entries(l)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");

/** A row as docker's ps templates see it ({{.Names}}, {{.Label "k"}} …). */
export function psRow(c: ContainerRecord, trunc: boolean): object {
  const cmd = [...c.config.entrypoint, ...c.config.cmd].join(" ");
  const row = {
    Command: `"${trunc && cmd.length > 20 ? `${cmd.slice(0, 19)}…` : cmd}"`,
    CreatedAt: dockerTime(c.created),
    ID: trunc ? short(c.id) : c.id,
    Image: c.config.imageName,
    Labels: labelsText(c.config.labels),
    LocalVolumes: String(c.config.volumes.filter((v) => v.named).length),
    Mounts: c.config.volumes.map((v) => (v.named ? v.source : v.destination)).join(","),
    Names: c.name,
    Networks: Object.keys(c.networks).join(",") || c.config.network,
    Ports: portsText(c),
    RunningFor: `${ago(c.created)} ago`,
    Size: "",
    State: c.state,
    Status: statusText(c),
  };
  Object.defineProperty(row, "Label", { value: (k: string) => c.config.labels[k] ?? "", enumerable: false });
  return row;
}

const PS_HEADERS: Record<string, string> = {
  ID: "CONTAINER ID",
  RunningFor: "CREATED",
  CreatedAt: "CREATED AT",
  LocalVolumes: "LOCAL VOLUMES",
};

export const psVerb: Verb = {
  usage: "ps [-a] [-q] [--no-trunc] [--filter KEY=VALUE] [--format table|json|TEMPLATE]",
  options: {
    all: { type: "boolean", short: "a" },
    quiet: { type: "boolean", short: "q" },
    "no-trunc": { type: "boolean" },
    filter: { type: "string", multiple: true, short: "f" },
    format: { type: "string" },
  },
  args: [],
  run: async (g, v) => {
    const filters = strs(v["filter"]).map(parseFilter);
    const format = str(v, "format") ?? "table";
    const engine = openEngine(g);
    let list: ContainerRecord[] = [];
    try {
      for (const c of engine.db.all()) {
        const live = await refresh(engine, c);
        if (engine.db.find(c.id) === undefined) continue; // removed with --rm just now
        list.push(live);
      }
    } finally {
      engine.close();
    }
    if (v["all"] !== true && !strs(v["filter"]).some((f) => f.startsWith("status=")))
      list = list.filter((c) => c.state === "running" || c.state === "paused");
    list = list.filter((c) => filters.every((f) => f(c)));
    const trunc = v["no-trunc"] !== true;
    if (v["quiet"] === true) {
      process.stdout.write(list.map((c) => `${trunc ? short(c.id) : c.id}\n`).join(""));
      return 0;
    }
    if (isTemplate(format)) {
      process.stdout.write(
        formatRows(
          format,
          list.map((c) => psRow(c, trunc)),
          PS_HEADERS,
          "",
        ),
      );
      return 0;
    }
    const rows = list.map((c) => {
      const cmd = [...c.config.entrypoint, ...c.config.cmd].join(" ");
      return [
        trunc ? short(c.id) : c.id,
        c.config.imageName,
        `"${trunc && cmd.length > 20 ? `${cmd.slice(0, 19)}…` : cmd}"`,
        `${ago(c.created)} ago`,
        statusText(c),
        portsText(c),
        c.name,
      ];
    });
    process.stdout.write(
      table(["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"], rows),
    );
    return 0;
  },
};
