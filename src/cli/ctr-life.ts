// Container lifecycle verbs: start, stop, kill, restart, wait, rm, pause, unpause, rename,
// container prune, and container-cleanup (conmon's exit command).
import type { ContainerRecord } from "../engine/db.ts";
import type { Engine } from "../engine/engine.ts";
import { parseSince } from "../engine/flags.ts";
import { finish, kill, refresh, removeContainer, startDetached, stop, wait } from "../engine/lifecycle.ts";
import { NAME } from "../engine/names.ts";
import * as cg from "../runtime/cgroup-verbs.ts";
import { describe, LeopardError } from "../util/errors.ts";
import { openEngine, strs } from "./engine-common.ts";
import { type Globals, str, type Values, type Verb } from "./image-common.ts";

/**
 * Runs `fn` on each named container, all at once (a 20-container `rm -f` waits for the slowest,
 * not for the sum); results print in the order given; errors are printed one per line and make
 * the exit code 1.
 */
async function each(
  g: Globals,
  refs: string[],
  fn: (e: Engine, c: ContainerRecord) => Promise<string | undefined> | string | undefined,
): Promise<number> {
  const engine = openEngine(g);
  try {
    const results = await Promise.all(
      refs.map(async (ref) => {
        try {
          return { out: await fn(engine, await refresh(engine, engine.db.get(ref))) };
        } catch (e) {
          return { err: `leopard: ${ref}: ${describe(e)}` };
        }
      }),
    );
    for (const r of results) {
      if (r.out !== undefined) process.stdout.write(`${r.out}\n`);
      if (r.err !== undefined) process.stderr.write(`${r.err}\n`);
    }
    return results.some((r) => r.err !== undefined) ? 1 : 0;
  } finally {
    engine.close();
  }
}

function timeout(v: Values, c: ContainerRecord): number {
  const t = str(v, "time");
  if (t === undefined) return c.config.stopTimeout;
  if (!/^\d+$/.test(t))
    throw new LeopardError("invalid-argument", `--time "${t}" must be a number of seconds`);
  return Number(t);
}

/** `start -a`: the container's output from its start until it exits; its exit status. */
async function startAttached(g: Globals, ref: string): Promise<number> {
  const { followLog, logSize } = await import("./ctr-logs.ts");
  const engine = openEngine(g);
  try {
    const c = await refresh(engine, engine.db.get(ref));
    const path = `${engine.bundle(c.id)}/ctr.log`;
    const from = logSize(path);
    await startDetached(engine, c);
    await followLog(engine, engine.db.get(c.id), path, from, "", (lines) => {
      for (const l of lines) (l.stream === "stderr" ? process.stderr : process.stdout).write(`${l.text}\n`);
    });
    return await wait(engine, c);
  } finally {
    engine.close();
  }
}

export const startVerb: Verb = {
  usage: "start [-a] CONTAINER...",
  options: { attach: { type: "boolean", short: "a" } },
  args: ["CONTAINER..."],
  run: (g, v, a) => {
    if (v["attach"] === true) {
      if (a.length !== 1)
        throw new LeopardError("invalid-argument", "start -a attaches to one container at a time");
      return startAttached(g, a[0] ?? "");
    }
    return each(g, a, async (e, c) => {
      await startDetached(e, c);
      return c.name;
    });
  },
};

export const stopVerb: Verb = {
  usage: "stop [-t SECONDS] CONTAINER...",
  options: { time: { type: "string", short: "t" } },
  args: ["CONTAINER..."],
  run: (g, v, a) =>
    each(g, a, async (e, c) => {
      await stop(e, c, timeout(v, c));
      return c.name;
    }),
};

export const restartVerb: Verb = {
  usage: "restart [-t SECONDS] CONTAINER...",
  options: { time: { type: "string", short: "t" } },
  args: ["CONTAINER..."],
  run: (g, v, a) =>
    each(g, a, async (e, c) => {
      await stop(e, c, timeout(v, c));
      await startDetached(e, e.db.get(c.id));
      return c.name;
    }),
};

export const killVerb: Verb = {
  usage: "kill [-s SIGNAL] CONTAINER...",
  options: { signal: { type: "string", short: "s" } },
  args: ["CONTAINER..."],
  run: (g, v, a) =>
    each(g, a, (e, c) => {
      kill(e, c, str(v, "signal") ?? "SIGKILL");
      return c.name;
    }),
};

export const waitVerb: Verb = {
  usage: "wait CONTAINER...",
  options: {},
  args: ["CONTAINER..."],
  run: (g, _v, a) => each(g, a, async (e, c) => String(await wait(e, c))),
};

export const rmVerb: Verb = {
  usage: "rm [-f] [-v] CONTAINER...",
  options: { force: { type: "boolean", short: "f" }, volumes: { type: "boolean", short: "v" } },
  args: ["CONTAINER..."],
  run: (g, v, a) =>
    each(g, a, async (e, c) => {
      await removeContainer(e, c, { force: v["force"] === true, volumes: v["volumes"] === true });
      return c.name;
    }),
};

function running(c: ContainerRecord): void {
  if (c.state !== "running" && c.state !== "paused")
    throw new LeopardError("bad-state", `container ${c.name} is not running`);
}

export const pauseVerb: Verb = {
  usage: "pause CONTAINER...",
  options: {},
  args: ["CONTAINER..."],
  run: (g, _v, a) =>
    each(g, a, (e, c) => {
      running(c);
      cg.pause(e.oci, c.id);
      return c.name;
    }),
};

export const unpauseVerb: Verb = {
  usage: "unpause CONTAINER...",
  options: {},
  args: ["CONTAINER..."],
  run: (g, _v, a) =>
    each(g, a, (e, c) => {
      running(c);
      cg.resume(e.oci, c.id);
      return c.name;
    }),
};

export const renameVerb: Verb = {
  usage: "rename CONTAINER NEW_NAME",
  options: {},
  args: ["CONTAINER", "NEW_NAME"],
  run: (g, _v, a) =>
    each(g, [a[0] ?? ""], (e, c) => {
      const name = a[1] ?? "";
      if (!NAME.test(name))
        throw new LeopardError("invalid-argument", `container name "${name}" is not valid`);
      e.db.update(c.id, { name });
      return undefined;
    }),
};

/** container prune --filter: docker's until=TIME and label=K[=V] / label!=K[=V]. */
function pruneFilter(f: string): (c: ContainerRecord) => boolean {
  const i = f.indexOf("=");
  const neg = i > 0 && f[i - 1] === "!";
  const key = f.slice(0, neg ? i - 1 : i);
  const val = f.slice(i + 1);
  if (i < 0 || (key !== "until" && key !== "label"))
    throw new LeopardError(
      "invalid-argument",
      `invalid filter '${i < 0 ? f : key}': use until=TIME or label=KEY[=VALUE]`,
    );
  if (key === "until") {
    const t = parseSince(val, Date.now());
    return (c) => Date.parse(c.created) < t;
  }
  const j = val.indexOf("=");
  const has = (c: ContainerRecord) =>
    j < 0 ? val in c.config.labels : c.config.labels[val.slice(0, j)] === val.slice(j + 1);
  return neg ? (c) => !has(c) : has;
}

export const containerPruneVerb: Verb = {
  usage: "container prune [-f] [--filter until=TIME|label=KEY[=VALUE]]",
  options: { force: { type: "boolean", short: "f" }, filter: { type: "string", multiple: true } },
  args: [],
  run: async (g, v) => {
    const filters = strs(v["filter"]).map(pruneFilter);
    const engine = openEngine(g);
    try {
      for (const c of engine.db.all()) {
        if (!filters.every((f) => f(c))) continue;
        const live = await refresh(engine, c);
        if (live.state !== "exited" && live.state !== "created") continue;
        await removeContainer(engine, live, { force: false, volumes: false });
        process.stdout.write(`${c.id}\n`);
      }
    } finally {
      engine.close();
    }
    return 0;
  },
};

/** conmon's exit command: records the exit, tears down the network, honours --rm. */
export const cleanupVerb: Verb = {
  usage: "container-cleanup ID",
  options: {},
  args: ["ID"],
  run: async (g, _v, a) => {
    const engine = openEngine(g);
    try {
      const c = engine.db.find(a[0] ?? "");
      if (c) await finish(engine, c);
    } finally {
      engine.close();
    }
    return 0;
  },
};
