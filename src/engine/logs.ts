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
