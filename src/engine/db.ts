// The engine's containers in SQLite (bun:sqlite, WAL, one file beside the image store's):
// id, unique name, the config it was created with, and what the engine last knew of its life
// (state, pid, exit code, times). The live truth of a running container is the runtime's
// state directory; sync.ts reconciles the two.
import type { Database } from "bun:sqlite";
import { LeopardError } from "../util/errors.ts";
import { openDatabase } from "../util/sqlite.ts";
import type { ContainerConfig } from "./config.ts";

export type EngineState = "created" | "running" | "paused" | "exited";

export interface ContainerRecord {
  id: string;
  name: string;
  config: ContainerConfig;
  state: EngineState;
  /** Init's pid while running (0 otherwise). */
  pid: number;
  exitCode: number;
  /** ISO 8601; "" when never. */
  created: string;
  startedAt: string;
  finishedAt: string;
  /** Run by a foreground `leopard run` (no monitor) rather than conmon. */
  foreground: boolean;
  /** The networks' results as the engine shows them: name → { ip, mac, gateway }. */
  networks: Record<string, { ip: string; mac: string; gateway: string; interface: string }>;
  restarts: number;
  /** The OOM killer killed a process of the container in its last run (docker's State.OOMKilled). */
  oomKilled?: boolean | undefined;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS containers (
  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, config TEXT NOT NULL, state TEXT NOT NULL,
  pid INTEGER NOT NULL, exit_code INTEGER NOT NULL, created TEXT NOT NULL, started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL, foreground INTEGER NOT NULL, networks TEXT NOT NULL, restarts INTEGER NOT NULL,
  oom_killed INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS volumes (
  name TEXT PRIMARY KEY, created TEXT NOT NULL, labels TEXT NOT NULL);
`;

interface Row {
  id: string;
  name: string;
  config: string;
  state: string;
  pid: number;
  exit_code: number;
  created: string;
  started_at: string;
  finished_at: string;
  foreground: number;
  networks: string;
  restarts: number;
  oom_killed: number;
}

function fromRow(r: Row): ContainerRecord {
  return {
    id: r.id,
    name: r.name,
    config: JSON.parse(r.config) as ContainerConfig,
    state: r.state as EngineState,
    pid: r.pid,
    exitCode: r.exit_code,
    created: r.created,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    foreground: r.foreground === 1,
    networks: JSON.parse(r.networks) as ContainerRecord["networks"],
    restarts: r.restarts,
    oomKilled: r.oom_killed === 1,
  };
}

export interface VolumeRecord {
  name: string;
  created: string;
  labels: Record<string, string>;
}

export class EngineDb {
  readonly db: Database;

  constructor(path: string) {
    this.db = openDatabase(path, SCHEMA);
    // Databases made before oom_killed existed get the column (SQLite adds it in place).
    const cols = this.db.query("PRAGMA table_info(containers)").all() as { name: string }[];
    if (!cols.some((c) => c.name === "oom_killed")) {
      try {
        this.db.run("ALTER TABLE containers ADD COLUMN oom_killed INTEGER NOT NULL DEFAULT 0");
      } catch (e) {
        if (!String(e).includes("duplicate column")) throw e; // another command added it first
      }
    }
  }

  close(): void {
    this.db.close();
  }

  insert(c: ContainerRecord): void {
    try {
      this.db
        .query(
          `INSERT INTO containers VALUES ($id, $name, $config, $state, $pid, $exit_code, $created,
           $started_at, $finished_at, $foreground, $networks, $restarts, $oom_killed)`,
        )
        .run({
          id: c.id,
          name: c.name,
          config: JSON.stringify(c.config),
          state: c.state,
          pid: c.pid,
          exit_code: c.exitCode,
          created: c.created,
          started_at: c.startedAt,
          finished_at: c.finishedAt,
          foreground: c.foreground ? 1 : 0,
          networks: JSON.stringify(c.networks),
          restarts: c.restarts,
          oom_killed: c.oomKilled === true ? 1 : 0,
        });
    } catch (e) {
      if (String(e).includes("UNIQUE constraint failed: containers.name")) {
        throw new LeopardError(
          "exists",
          `the container name "${c.name}" is already in use; remove that container or choose another name`,
        );
      }
      throw e;
    }
  }

  update(id: string, fields: Partial<Omit<ContainerRecord, "id" | "config">>): void {
    const cols: Record<string, string> = {
      name: "name",
      state: "state",
      pid: "pid",
      exitCode: "exit_code",
      startedAt: "started_at",
      finishedAt: "finished_at",
      foreground: "foreground",
      networks: "networks",
      restarts: "restarts",
      oomKilled: "oom_killed",
    };
    const sets: string[] = [];
    const params: Record<string, string | number> = { id };
    for (const [k, v] of Object.entries(fields)) {
      const col = cols[k];
      if (col === undefined || v === undefined) continue;
      sets.push(`${col} = $${col}`);
      params[col] = typeof v === "boolean" ? (v ? 1 : 0) : typeof v === "object" ? JSON.stringify(v) : v;
    }
    if (sets.length === 0) return;
    try {
      this.db.query(`UPDATE containers SET ${sets.join(", ")} WHERE id = $id`).run(params);
    } catch (e) {
      if (String(e).includes("UNIQUE constraint failed: containers.name"))
        throw new LeopardError("exists", `the container name "${String(fields.name)}" is already in use`);
      throw e;
    }
  }

  remove(id: string): void {
    this.db.query("DELETE FROM containers WHERE id = $id").run({ id });
  }

  all(): ContainerRecord[] {
    return (this.db.query("SELECT * FROM containers ORDER BY created DESC").all() as Row[]).map(fromRow);
  }

  /** By full id, unique id prefix, or name. */
  find(ref: string): ContainerRecord | undefined {
    const byName = this.db
      .query("SELECT * FROM containers WHERE name = $ref OR id = $ref")
      .get({ ref }) as Row | null;
    if (byName) return fromRow(byName);
    if (!/^[0-9a-f]{3,63}$/.test(ref)) return undefined;
    const rows = this.db.query("SELECT * FROM containers WHERE id LIKE $p").all({ p: `${ref}%` }) as Row[];
    if (rows.length > 1)
      throw new LeopardError("invalid-argument", `container id prefix "${ref}" is ambiguous`);
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  get(ref: string): ContainerRecord {
    const c = this.find(ref);
    if (!c) throw new LeopardError("not-found", `no such container: ${ref}`);
    return c;
  }

  addVolume(v: VolumeRecord): boolean {
    const r = this.db
      .query("INSERT OR IGNORE INTO volumes VALUES ($name, $created, $labels)")
      .run({ name: v.name, created: v.created, labels: JSON.stringify(v.labels) });
    return r.changes === 1;
  }

  volumes(): VolumeRecord[] {
    return (
      this.db.query("SELECT * FROM volumes ORDER BY name").all() as {
        name: string;
        created: string;
        labels: string;
      }[]
    ).map((r) => ({
      name: r.name,
      created: r.created,
      labels: JSON.parse(r.labels) as Record<string, string>,
    }));
  }

  volume(name: string): VolumeRecord | undefined {
    const r = this.db.query("SELECT * FROM volumes WHERE name = $name").get({ name }) as {
      name: string;
      created: string;
      labels: string;
    } | null;
    return r
      ? { name: r.name, created: r.created, labels: JSON.parse(r.labels) as Record<string, string> }
      : undefined;
  }

  removeVolume(name: string): void {
    this.db.query("DELETE FROM volumes WHERE name = $name").run({ name });
  }
}
