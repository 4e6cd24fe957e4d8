// docker's output formats over rows and objects: `table` with headers and its tabwriter's
// columns, `json`, a Go template per row (src/cli/go-template.ts), inspect's -f, and docker's size
// units (binary for memory, decimal for images and I/O).
import { compileTemplate } from "./go-template.ts";

/**
 * docker's tabwriter for `table` formats: cells split at tabs, every column but the last padded
 * to its widest cell plus 3, and at least 10 wide.
 */
export function tabulate(lines: readonly string[]): string {
  const rows = lines.map((l) => l.split("\t"));
  const widths: number[] = [];
  for (const r of rows)
    r.slice(0, -1).forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, Math.max(10, c.length + 3));
    });
  return rows
    .map((r) => `${r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i] ?? 0) : c)).join("")}\n`)
    .join("");
}

/**
 * A verb's --format: "table" (the verb's default columns), "table TEMPLATE" (a header row from
 * `headers`, then the rows, aligned), "json" (one JSON object per line), or a template rendered
 * once per row, each followed by a newline.
 */
export function formatRows(
  format: string,
  rows: readonly object[],
  headers: Readonly<Record<string, string>>,
  defaultTable: string,
): string {
  // docker (23.0 on) reads "json" as `{{json .}}`: each row one object, its keys sorted as Go
  // marshals the map behind a row. docker 20.10 printed the word "json" per row instead.
  if (format === "json") return rows.map((r) => `${JSON.stringify(sortedKeys(r))}\n`).join("");
  const isTable = format === "table" || format.startsWith("table ");
  const body = isTable ? (format === "table" ? defaultTable : format.slice(6)) : format;
  // docker turns the two characters \t and \n in a format into a tab and a newline.
  const tpl = compileTemplate(body.replaceAll("\\t", "\t").replaceAll("\\n", "\n"));
  const lines = rows.map((r) => tpl.render(r));
  if (!isTable) return lines.map((l) => `${l}\n`).join("");
  const head = new Proxy(
    {},
    {
      has: () => true,
      get: (_t, k) => {
        if (typeof k !== "string") return undefined;
        const h = headers[k] ?? k.replace(/([a-z])([A-Z])/g, "$1 $2").toUpperCase();
        return k === "Label" ? () => "LABEL" : h;
      },
    },
  );
  return tabulate([tpl.render(head), ...lines].flatMap((l) => l.split("\n")));
}

function sortedKeys(r: object): object {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Go's %.{prec}g: `prec` significant digits, trailing zeros dropped. */
function goG(n: number, prec: number): string {
  return String(Number(n.toPrecision(prec)));
}

/** docker's units.BytesSize: 64MiB, 344KiB, 23.54GiB (binary, 4 significant digits). */
export function bytesSize(n: number): string {
  const u = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${goG(n, 4)}${u[i]}`;
}

/** docker's units.HumanSizeWithPrecision: 1.98MB, 0B (decimal). */
export function humanSize(n: number, prec = 4): string {
  const u = ["B", "kB", "MB", "GB", "TB", "PB"];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) {
    n /= 1000;
    i++;
  }
  return `${goG(n, prec)}${u[i]}`;
}

/** --format given as a template, "table …" or "json" (a row per line), for a verb with its own table. */
export function isTemplate(format: string | undefined): format is string {
  return format !== undefined && format !== "table";
}

/** inspect's output: the objects as a JSON array, or with -f the template once per object. */
export function renderEach(format: string | undefined, objs: readonly unknown[]): string {
  if (format === undefined || format === "" || format === "json") return `${JSON.stringify(objs, null, 2)}\n`;
  const tpl = compileTemplate(format.replaceAll("\\t", "\t").replaceAll("\\n", "\n"));
  return objs.map((o) => `${tpl.render(o)}\n`).join("");
}
