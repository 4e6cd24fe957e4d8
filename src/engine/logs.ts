// conmon's k8s-file log: one record per line, "<RFC 3339 nano time> <stdout|stderr> <F|P> <text>",
// P marking a partial line that the next record continues. parseLog joins partials; the CLI
// prints, tails and follows.

export interface LogLine {
  time: string;
  /** ms since the epoch (the nanoseconds are kept in `time`). */
  ms: number;
  stream: "stdout" | "stderr";
  text: string;
}

/** Whole lines from the log text; an unterminated partial at the end is returned as `rest`. */
export function parseLog(text: string): { lines: LogLine[]; rest: string } {
  const lines: LogLine[] = [];
  let pending: LogLine | undefined;
  let consumed = 0;
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf("\n", pos);
    if (nl < 0) break;
    const rec = text.slice(pos, nl);
    pos = nl + 1;
    const m = /^(\S+) (stdout|stderr) ([FP]) ?([\s\S]*)$/.exec(rec); // a pty's lines end in \r
    if (!m) {
      consumed = pos;
      continue;
    }
    const time = m[1] ?? "";
    const stream = m[2] as "stdout" | "stderr";
    const body = m[4] ?? "";
    if (pending && pending.stream === stream) pending.text += body;
    else {
      if (pending) lines.push(pending);
      pending = { time, ms: Date.parse(time), stream, text: body };
    }
    if (m[3] === "F") {
      lines.push(pending);
      pending = undefined;
      consumed = pos;
    }
  }
  return { lines, rest: text.slice(consumed) };
}

/** A k8s-file time as docker's logs -t prints it: UTC, "Z", nine fraction digits. */
export function dockerTimestamp(time: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(time);
  if (!m) return time;
  const frac = (m[2] ?? "").padEnd(9, "0");
  const secs =
    m[3] === "Z" || m[3] === "+00:00" ? m[1] : new Date(`${m[1]}${m[3]}`).toISOString().slice(0, 19);
  return `${secs}.${frac}Z`;
}

/** Output of a stream as k8s-file records (conmon's format): "F" ends a line, "P" a partial one. */
export function logRecords(stream: "stdout" | "stderr", text: string, time: string): string {
  const parts = text.split("\n");
  const last = parts.pop() ?? "";
  let out = parts.map((p) => `${time} ${stream} F ${p}\n`).join("");
  if (last !== "") out += `${time} ${stream} P ${last}\n`;
  return out;
}

/** Now as conmon stamps records: RFC 3339 with nanoseconds, "+00:00". */
export function logTime(): string {
  const ns = process.hrtime.bigint() % 1_000_000n;
  const d = new Date();
  return `${d.toISOString().slice(0, 23)}${String(ns).padStart(6, "0")}+00:00`;
}
