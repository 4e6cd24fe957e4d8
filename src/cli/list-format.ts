// `list` output: runc's table (ID PID STATUS BUNDLE CREATED OWNER) or JSON.
import type { PublicState } from "../state/state.ts";

export function formatList(states: readonly PublicState[], format: string, quiet: boolean): string {
  if (quiet) return states.map((s) => `${s.id}\n`).join("");
  if (format === "json") return `${JSON.stringify(states)}\n`;
  const rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]];
  for (const s of states) rows.push([s.id, String(s.pid), s.status, s.bundle, s.created, s.owner || "root"]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) => `${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join("")}\n`)
    .join("");
}
