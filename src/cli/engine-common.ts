// What the container verbs share: opening the engine, finding containers, table formatting.

import { defaultRunDir } from "../engine/dirs.ts";
import { Engine } from "../engine/engine.ts";
import type { Globals, Values } from "./image-common.ts";

export function openEngine(g: Globals): Engine {
  const e = new Engine({ storage: g.storage, run: g.run ?? defaultRunDir() });
  e.debug = g.debug === true;
  return e;
}

export const strs = (v: Values[string]): string[] =>
  Array.isArray(v) ? v : typeof v === "string" ? [v] : [];

/** "3 minutes ago", as docker's ps prints it. */
export function ago(iso: string, now = Date.now()): string {
  if (iso === "") return "";
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 1) return "Less than a second";
  if (s < 60) return `${s} second${s === 1 ? "" : "s"}`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} minute${m === 1 ? "" : "s"}`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} hour${h === 1 ? "" : "s"}`;
  const d = Math.round(h / 24);
  return `${d} day${d === 1 ? "" : "s"}`;
}

/** Columns padded to their widest cell, three spaces apart, as docker prints tables. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("   ")
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join("\n")}\n`;
}
