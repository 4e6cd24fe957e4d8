// SQLite as leopard's stores open it (bun:sqlite): created on first use, strict bindings, WAL so
// readers never wait for a writer, and a busy timeout so concurrent commands queue instead of
// failing.
import { Database } from "bun:sqlite";

export function openDatabase(path: string, schema: string): Database {
  const db = new Database(path, { create: true, strict: true });
  db.exec("PRAGMA busy_timeout = 10000");
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(schema);
  return db;
}
