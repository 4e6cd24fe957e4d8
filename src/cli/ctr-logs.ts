// `leopard logs [-f] [--tail N] [--since T] [-t] CONTAINER`: the container's output from
// conmon's log, stdout to stdout and stderr to stderr; -f follows until the container exits.
import { closeSync, openSync, readSync, statSync } from "node:fs";
import type { ContainerRecord } from "../engine/db.ts";
import type { Engine } from "../engine/engine.ts";
import { parseSince } from "../engine/flags.ts";
import { refresh } from "../engine/lifecycle.ts";
import { dockerTimestamp, type LogLine, parseLog } from "../engine/logs.ts";
import { LeopardError } from "../util/errors.ts";
import { openEngine } from "./engine-common.ts";
import { str, type Verb } from "./image-common.ts";

function readFrom(path: string, offset: number): { text: string; offset: number } {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    // No log yet: nothing to read.
    return { text: "", offset };
  }
  try {
    const size = statSync(path).size;
    if (size < offset) offset = 0; // rotated
    const buf = Buffer.alloc(size - offset);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    return { text: buf.subarray(0, got).toString("utf8"), offset: offset + got };
  } finally {
    closeSync(fd);
  }
}

/** The log's size now: where a follower that wants only what comes next starts. */
export function logSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    // No log yet: a follower starts at its beginning.
    return 0;
  }
}

/** Shows the log's records from `offset` as they come, until the container has exited. */
export async function followLog(
  engine: Engine,
  c: ContainerRecord,
  path: string,
  offset: number,
  rest: string,
  show: (lines: LogLine[]) => void,
): Promise<void> {
  for (;;) {
    c = await refresh(engine, c);
    const done = c.state !== "running" && c.state !== "paused";
    const r = readFrom(path, offset);
    offset = r.offset;
    const p = parseLog(rest + r.text);
    show(p.lines);
    rest = p.rest;
    if (done) return;
    await Bun.sleep(50);
  }
}

export const logsVerb: Verb = {
  usage: "logs [-f] [--tail N] [--since TIME] [-t] CONTAINER",
  options: {
    follow: { type: "boolean", short: "f" },
    tail: { type: "string", short: "n" },
    since: { type: "string" },
    timestamps: { type: "boolean", short: "t" },
  },
  args: ["CONTAINER"],
  run: async (g, v, a) => {
    const tailText = str(v, "tail") ?? "all";
    if (tailText !== "all" && !/^\d+$/.test(tailText))
      throw new LeopardError("invalid-argument", `--tail "${tailText}" must be a number or "all"`);
    const sinceText = str(v, "since");
    const since = sinceText === undefined ? undefined : parseSince(sinceText, Date.now());
    const engine = openEngine(g);
    try {
      const c: ContainerRecord = engine.db.get(a[0] ?? "");
      const path = `${engine.bundle(c.id)}/ctr.log`;
      const show = (lines: LogLine[]) => {
        for (const l of lines) {
          if (since !== undefined && l.ms < since) continue;
          const text = `${v["timestamps"] === true ? `${dockerTimestamp(l.time)} ` : ""}${l.text}\n`;
          (l.stream === "stderr" ? process.stderr : process.stdout).write(text);
        }
      };
      const { text, offset } = readFrom(path, 0);
      let parsed = parseLog(text);
      show(
        tailText === "all" ? parsed.lines : parsed.lines.slice(-Number(tailText) || parsed.lines.length + 1),
      );
      if (tailText === "0") parsed = { lines: [], rest: parsed.rest };
      if (v["follow"] !== true) return 0;
      await followLog(engine, c, path, offset, parsed.rest, show);
      return 0;
    } finally {
      engine.close();
    }
  },
};
