// `leopard build`: runs the plan (plan.ts) stage by stage. FROM takes an image from the store
// (pulled when missing, or always with --pull), `scratch` or an earlier stage; RUN runs in a
// build container on the layers so far (container.ts); COPY and ADD stage their sources
// (context.ts, or an earlier stage's or an image's files) and write them into such a container;
// each of those steps becomes a gzip layer made from the container's changes (image/dir-layer.ts)
// with a history entry, the others change only the config (empty_layer). A step whose key
// (cache.ts) is known reuses its result. The image is recorded, and tagged, only at the end:
// a failed or interrupted build leaves no container, mount, snapshot, blob or cache entry.
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import type { EngineDirs } from "../engine/dirs.ts";
import { createImage } from "../image/commit.ts";
import type { ImageRecord } from "../image/db.ts";
import { chainIds, type Digest, shortId } from "../image/digest.ts";
import { layerFromDir } from "../image/dir-layer.ts";
import { hostPlatform, parseConfig, parsePlatform } from "../image/oci.ts";
import type { Store } from "../image/store.ts";
import type { StateDir } from "../state/state.ts";
import { describe, LeopardError } from "../util/errors.ts";
import { BuildCache, type History, type ImageState, stepKey } from "./cache.ts";
import { BuildContainer } from "./container.ts";
import { BuildContext, treeDigest } from "./context.ts";
import { type CopyEffect, placeCopy, type Staged, stageCopy } from "./copy-step.ts";
import { DockerfileError, type Instr, parseDockerfile } from "./dockerfile.ts";
import {
  type Effect,
  evaluate,
  type Plan,
  planStages,
  platformArgs,
  type RunConfig,
  type StageState,
  stageRef,
} from "./plan.ts";

export interface BuildOptions {
  context: string;
  /** The Dockerfile's path, and the name errors give it. */
  file: string;
  fileName: string;
  tags: string[];
  buildArgs: Map<string, string>;
  target?: string | undefined;
  noCache: boolean;
  pull: boolean;
  network: "none" | "host" | "bridge";
  labels: Record<string, string>;
  platform?: string | undefined;
  quiet: boolean;
  /** Progress lines and the steps' output. */
  print: (text: string) => void;
  output: (fd: 1 | 2, chunk: Uint8Array) => void;
  tty: boolean;
}

export interface Builder {
  store: Store;
  dirs: EngineDirs;
  oci: StateDir;
}

const TAIL_LINES = 5;

class Interrupted extends LeopardError {
  constructor() {
    super("system", "build interrupted");
  }
}

export async function build(b: Builder, o: BuildOptions): Promise<ImageRecord> {
  let text: string;
  try {
    text = readFileSync(o.file, "utf8");
  } catch (e) {
    throw new LeopardError("not-found", `cannot read "${o.fileName}": ${describe(e)}`);
  }
  const df = parseDockerfile(text, o.fileName);
  const host = hostPlatform();
  const target = o.platform === undefined ? host : parsePlatform(o.platform);
  const builtins = platformArgs(target, host);
  const plan = planStages(df, { buildArgs: o.buildArgs, target: o.target, builtins, file: o.fileName });
  const cache = new BuildCache(b.store);
  const run = new Run(b, o, plan, df.escape, builtins, cache);
  const onSignal = () => run.interrupt();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    let img: ImageRecord;
    {
      using _w = await b.store.writerLock();
      await BuildContainer.sweep(b.store, b.dirs, b.oci);
      img = await run.all();
    }
    return img;
  } catch (e) {
    cache.forgetWritten();
    await b.store.collect({ wait: false }).catch(() => undefined);
    throw e;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

class Run {
  #interrupted = false;
  #live = new Set<BuildContainer>();
  #temps: string[] = [];
  readonly #done = new Map<number, ImageState>();
  readonly #context: BuildContext;
  #step = 0;
  #total: number;

  constructor(
    readonly b: Builder,
    readonly o: BuildOptions,
    readonly plan: Plan,
    readonly esc: string,
    readonly builtins: ReadonlyMap<string, string>,
    readonly cache: BuildCache,
  ) {
    this.#context = new BuildContext(o.context);
    this.#total = plan.build.reduce((n, i) => n + 1 + (plan.stages[i]?.instructions.length ?? 0), 0);
  }

  interrupt(): void {
    this.#interrupted = true;
    for (const c of this.#live) c.kill();
  }

  #check(): void {
    if (this.#interrupted) throw new Interrupted();
  }

  #say(s: string): void {
    if (!this.o.quiet) this.o.print(`${s}\n`);
  }

  async all(): Promise<ImageRecord> {
    try {
      let last: ImageState | undefined;
      for (const n of this.plan.build) {
        last = await this.#stage(n);
        this.#done.set(n, last);
      }
      if (last === undefined) throw new LeopardError("invalid-argument", "nothing to build");
      this.#check();
      return await this.#commit(last);
    } finally {
      for (const c of this.#live) await c.dispose().catch(() => undefined);
      this.#live.clear();
      for (const t of this.#temps.splice(0)) rmSync(t, { recursive: true, force: true });
    }
  }

  async #commit(s: ImageState): Promise<ImageRecord> {
    const config: RunConfig = { ...s.config };
    if (Object.keys(this.o.labels).length > 0) config.Labels = { ...(config.Labels ?? {}), ...this.o.labels };
    const p = this.o.platform === undefined ? hostPlatform() : parsePlatform(this.o.platform);
    const created = s.history[s.history.length - 1]?.created ?? new Date(0).toISOString();
    if (this.o.tags[0] !== undefined) this.#say(`COMMIT ${this.o.tags[0]}`);
    const img = await createImage(
      this.b.store,
      s.layers,
      {
        architecture: p.architecture,
        os: p.os,
        ...(p.variant ? { variant: p.variant } : {}),
        created,
        ...(s.author ? { author: s.author } : {}),
        config: config as Record<string, unknown>,
        history: s.history,
      },
      { tags: this.o.tags },
    );
    this.#say(`--> ${shortId(img.id)}`);
    for (const t of this.o.tags) this.#say(`Successfully tagged ${t}`);
    return img;
  }

  #header(stage: number, text: string): string {
    this.#step++;
    const multi = this.plan.build.length > 1;
    const pos = this.plan.build.indexOf(stage) + 1;
    return `${multi ? `[${pos}/${this.plan.build.length}] ` : ""}STEP ${this.#step}/${this.#total}: ${text}`;
  }

  async #stage(n: number): Promise<ImageState> {
    const stage = this.plan.stages[n];
    if (stage === undefined) throw new LeopardError("invalid-argument", `stage ${n} does not exist`);
    const fromText = this.o.fileName;
    this.#say(
      this.#header(
        n,
        `FROM ${stage.base.kind === "image" ? stage.base.ref : stage.base.kind === "stage" ? (this.plan.stages[stage.base.index]?.name ?? String(stage.base.index)) : "scratch"}${stage.name ? ` AS ${stage.name}` : ""}`,
      ),
    );
    let img: ImageState;
    try {
      img = await this.#base(stage.base);
    } catch (e) {
      throw new DockerfileError(fromText, stage.line, describe(e));
    }
    // The base's ONBUILD triggers run first, as instructions of this stage, and are not inherited.
    let triggers: Instr[] = [];
    const onBuild = img.config.OnBuild ?? [];
    if (onBuild.length > 0) {
      const parsed = parseDockerfile(
        `FROM scratch\n${onBuild.join("\n")}\n`,
        `${fromText} (ONBUILD of its FROM)`,
      );
      triggers = parsed.instructions.slice(1).map((i) => ({ ...i, line: stage.line }));
      const { OnBuild: _, ...rest } = img.config;
      img = { ...img, config: rest };
      this.#total += triggers.length;
    }
    let st: StageState = { config: img.config, args: new Map(), cmdSet: false, author: img.author };
    for (const i of [...triggers, ...stage.instructions]) {
      this.#check();
      this.#say(this.#header(n, i.text));
      const started = Date.now();
      try {
        const ev = evaluate(i, st, {
          escape: this.esc,
          buildArgs: this.o.buildArgs,
          globals: this.plan.globals,
          builtins: this.builtins,
        });
        const next = await this.#apply(
          n,
          i,
          ev.effect,
          ev.createdBy,
          { ...img, config: ev.state.config, author: ev.state.author },
          img,
        );
        st = ev.state;
        img = next.state;
        const took = this.o.tty ? ` (${((Date.now() - started) / 1000).toFixed(1)}s)` : "";
        this.#say(
          next.cached ? `--> Using cache ${shortId(img.key)}${took}` : `--> ${shortId(img.key)}${took}`,
        );
      } catch (e) {
        if (e instanceof Interrupted || e instanceof DockerfileError) throw e;
        throw new DockerfileError(this.o.fileName, i.line, describe(e));
      }
    }
    return img;
  }

  async #base(base: Plan["stages"][number]["base"]): Promise<ImageState> {
    if (base.kind === "scratch") return { key: "scratch" as Digest, layers: [], config: {}, history: [] };
    if (base.kind === "stage") {
      const s = this.#done.get(base.index);
      if (s === undefined) throw new LeopardError("bad-state", `stage ${base.index} was not built`);
      return s;
    }
    const rec = await this.#image(base.ref);
    const cfg = parseConfig(this.b.store.readBlob(rec.id), `config of "${base.ref}"`);
    const author = (cfg as { author?: unknown }).author;
    return {
      key: rec.id,
      layers: rec.layers.map((l) => ({
        digest: l.digest,
        mediaType: l.mediaType,
        size: l.size,
        diffId: l.diffId,
      })),
      config: (cfg.config ?? {}) as RunConfig,
      history: (cfg.history ?? []) as History[],
      author: typeof author === "string" ? author : undefined,
    };
  }

  async #image(ref: string): Promise<ImageRecord> {
    const { pull } = await import("../image/pull.ts");
    const platform = this.o.platform === undefined ? {} : { platform: parsePlatform(this.o.platform) };
    if (this.o.pull) return await pull(this.b.store, ref, platform);
    return this.b.store.find(ref) ?? (await pull(this.b.store, ref, platform));
  }

  /** Snapshots for every layer (a cached state's may have been collected), lowest first. */
  async #snapshots(s: ImageState): Promise<Digest[]> {
    const chain = chainIds(s.layers.map((l) => l.diffId));
    for (let k = 0; k < chain.length; k++) {
      const l = s.layers[k];
      if (l === undefined) continue;
      await this.b.store.ensureSnapshot(
        chain[k] as Digest,
        k === 0 ? null : (chain[k - 1] as Digest),
        l.diffId,
        l.digest,
      );
    }
    return chain;
  }

  async #container(s: ImageState, forRun = false): Promise<BuildContainer> {
    const chain = await this.#snapshots(s);
    const c = await BuildContainer.open(this.b.store, this.b.dirs, this.b.oci, chain, s.key, forRun);
    this.#live.add(c);
    return c;
  }

  async #drop(c: BuildContainer): Promise<void> {
    this.#live.delete(c);
    await c.dispose();
  }

  #temp(what: string): string {
    const t = this.b.store.tmpPath(what);
    mkdirSync(t, { mode: 0o700 });
    this.#temps.push(t);
    return t;
  }

  async #apply(
    stage: number,
    i: Instr,
    effect: Effect,
    createdBy: string,
    meta: ImageState,
    parent: ImageState,
  ): Promise<{ state: ImageState; cached: boolean }> {
    let inputs = "";
    let staged: Staged | undefined;
    if (effect.kind === "copy") {
      staged = await this.#stageCopy(stage, effect);
      inputs = treeDigest(staged.dir);
    } else if (effect.kind === "run") inputs = `network=${effect.network ?? this.o.network}`;
    const key = stepKey(parent.key, createdBy, inputs);
    if (!this.o.noCache) {
      const hit = this.cache.get(key);
      if (hit !== undefined) {
        await this.#snapshots(hit);
        return { state: hit, cached: true };
      }
    }
    const created = new Date().toISOString();
    const h: History = { created, created_by: createdBy };
    let state: ImageState;
    if (effect.kind === "none") {
      state = { ...meta, key, history: [...parent.history, { ...h, empty_layer: true }] };
    } else {
      const c = await this.#container(parent, effect.kind === "run");
      try {
        if (effect.kind === "run") {
          const host = hostPlatform();
          const want = this.o.platform === undefined ? host : parsePlatform(this.o.platform);
          if (want.architecture !== host.architecture || want.os !== host.os)
            throw new LeopardError(
              "unsupported",
              `RUN for ${this.o.platform} on a ${host.os}/${host.architecture} host needs emulation, which leopard build does not do`,
            );
          await this.#run(c, i, effect, meta.config);
        } else if (staged !== undefined)
          await placeCopy(c.rootfs, effect, staged, (m) => this.#say(`WARNING: ${m}`), c.hostOwner);
        this.#check();
        const layer = await layerFromDir(this.b.store, c.diffDir, c.layerOptions);
        state = { ...meta, key, layers: [...parent.layers, layer], history: [...parent.history, h] };
      } finally {
        await this.#drop(c);
      }
      await this.#snapshots(state);
    }
    this.cache.put(state);
    return { state, cached: false };
  }

  async #run(
    c: BuildContainer,
    i: Instr,
    e: Extract<Effect, { kind: "run" }>,
    config: RunConfig,
  ): Promise<void> {
    const tail: string[] = [""];
    const env = [...(config.Env ?? [])];
    if (!env.some((x) => x.startsWith("PATH=")))
      env.unshift("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    const code = await c.run({
      argv: e.argv,
      env: [...env, ...e.env],
      workingDir: config.WorkingDir ?? "",
      user: config.User ?? "",
      network: (e.network ?? this.o.network) as "none" | "host" | "bridge",
      output: (fd, chunk) => {
        if (!this.o.quiet) this.o.output(fd, chunk);
        const lines = Buffer.from(chunk).toString("utf8").split("\n");
        tail[tail.length - 1] += lines[0] ?? "";
        tail.push(...lines.slice(1));
        if (tail.length > TAIL_LINES + 1) tail.splice(0, tail.length - TAIL_LINES - 1);
      },
    });
    this.#check();
    if (code !== 0) {
      const last = tail.filter((l) => l.trim() !== "").slice(-TAIL_LINES);
      throw new LeopardError(
        "system",
        `RUN ${i.firstLine ?? i.args} exited with code ${code}${last.length > 0 ? `; its last output: ${last.join(" | ")}` : ""}`,
      );
    }
  }

  /** Stages a COPY/ADD's sources (copy-step.ts), from an earlier stage's or an image's files with --from. */
  async #stageCopy(stage: number, e: CopyEffect): Promise<Staged> {
    const dir = this.#temp("stage");
    if (e.from === undefined) return await stageCopy(e, dir, { context: this.#context, dir: this.o.context });
    const what = e.add ? "ADD" : "COPY";
    const ref = stageRef(this.plan.stages, e.from, stage);
    let src: ImageState;
    if (ref !== undefined) src = this.#done.get(ref) as ImageState;
    else {
      try {
        src = await this.#base({ kind: "image", ref: e.from });
      } catch (err) {
        throw new LeopardError(
          "not-found",
          `${what} --from=${e.from}: no stage of that name, and no such image (${describe(err)})`,
        );
      }
    }
    const c = await this.#container(src);
    try {
      return await stageCopy(e, dir, { root: c.rootfs });
    } finally {
      await this.#drop(c);
    }
  }
}
