// A container's life under the engine: start (detached under conmon, or in the foreground with
// no monitor), stop (the stop signal, then SIGKILL after the timeout), kill, wait, restart and
// remove. The runtime's state directory is the truth about a live container; `refresh` brings
// the database in line with it, and `finish` is what happens once, after init exits (conmon's
// exit command runs it; any command that notices first does too).

import { readFileSync, rmSync } from "node:fs";
import * as runtime from "../runtime/lifecycle.ts";
import { run } from "../runtime/run.ts";
import { mark } from "../sys/trace.ts";
import { describe, LeopardError } from "../util/errors.ts";
import { engineRootless } from "../util/user-dirs.ts";
import { ENGINE, launchConmon } from "./conmon.ts";
import type { ContainerRecord, EngineState } from "./db.ts";
import { exitDir, socketDir } from "./dirs.ts";
import type { Engine } from "./engine.ts";
import { attachNetwork, detachNetwork } from "./network.ts";
import { ttyLog, withForegroundStdio } from "./stdio.ts";

const short = (id: string): string => id.slice(0, 12);

function runtimeStatus(engine: Engine, id: string): { status: string; pid: number } | undefined {
  try {
    const s = runtime.stateOf(engine.oci, id);
    return { status: s.status, pid: s.pid };
  } catch {
    // No runtime state (never created, or deleted): the caller goes by the record.
    return undefined;
  }
}

function exitFile(engine: Engine, id: string): string {
  return `${exitDir(engine.dirs)}/${id}`;
}

function readExitCode(engine: Engine, id: string): number | undefined {
  try {
    const n = Number(readFileSync(exitFile(engine, id), "utf8").trim());
    return Number.isInteger(n) ? n : undefined;
  } catch {
    // No exit file (conmon has not written one): the status is unknown.
    return undefined;
  }
}

/** The record with its live state: running, paused, or exited once init is gone. */
export async function refresh(engine: Engine, rec: ContainerRecord): Promise<ContainerRecord> {
  if (rec.state !== "running" && rec.state !== "paused") return rec;
  const rt = runtimeStatus(engine, rec.id);
  if (
    rt &&
    (rt.status === "running" || rt.status === "paused" || rt.status === "created" || rt.status === "creating")
  ) {
    const state: EngineState = rt.status === "paused" ? "paused" : "running";
    return { ...rec, state, pid: rt.pid };
  }
  // A foreground run still holding the container records its own exit code.
  if (rec.foreground && rt === undefined) {
    const now = engine.db.find(rec.id);
    if (now && now.state === "exited") return now;
  }
  await finish(engine, rec);
  return engine.db.find(rec.id) ?? { ...rec, state: "exited" };
}

/** Stops the container's fuse-overlayfs, if its root is one and it runs (src/image/fuse-overlayfs.ts). */
async function stopRootMount(engine: Engine, id: string): Promise<void> {
  const r = engine.store.meta.rootfs(id);
  if (r?.kind !== "fuse-overlayfs") return;
  const { stopFuseRoot } = await import("../image/fuse-overlayfs.ts");
  await stopFuseRoot(r.path.slice(0, r.path.lastIndexOf("/")));
}

/** After init exited: the exit code, the runtime's state, the network, --rm. Idempotent. */
export async function finish(engine: Engine, rec: ContainerRecord, code?: number): Promise<void> {
  let exitCode = code;
  if (exitCode === undefined && !rec.foreground) {
    // conmon writes the exit file right after reaping init; give it a moment.
    for (let i = 0; i < 50; i++) {
      exitCode = readExitCode(engine, rec.id);
      if (exitCode !== undefined) break;
      await Bun.sleep(20);
    }
  }
  const oomKilled = oomKills(engine, rec.id) > 0;
  mark("engine: oom count read");
  await runtime.remove(engine.oci, rec.id, true).catch(() => undefined);
  mark("engine: runtime state removed");
  await detachNetwork(engine, rec).catch((e) => process.stderr.write(`leopard: warning: ${describe(e)}\n`));
  // A fuse-overlayfs root goes with the container's run (started again by the next start).
  await stopRootMount(engine, rec.id);
  const current = engine.db.find(rec.id);
  if (current === undefined) return;
  if (current.state !== "exited") {
    engine.db.update(rec.id, {
      state: "exited",
      oomKilled,
      pid: 0,
      exitCode: exitCode ?? (current.exitCode || 137),
      finishedAt: new Date().toISOString(),
      networks: {},
    });
  }
  if (rec.config.autoRemove) await removeContainer(engine, rec, { force: true, volumes: true });
}

/** The OOM killer's count in the container's cgroup (read before the runtime removes it); 0 when gone. */
function oomKills(engine: Engine, id: string): number {
  try {
    const { reopenCgroup } = require("../runtime/cgroup.ts") as typeof import("../runtime/cgroup.ts");
    return reopenCgroup(engine.oci.read(id).cgroupPaths)?.oomKills() ?? 0;
  } catch {
    // The cgroup is gone already: no OOM kills to report, as documented.
    return 0;
  }
}

function markRunning(
  engine: Engine,
  rec: ContainerRecord,
  pid: number,
  foreground: boolean,
  networks: ContainerRecord["networks"],
): void {
  engine.db.update(rec.id, {
    state: "running",
    pid,
    exitCode: 0,
    oomKilled: false,
    startedAt: new Date().toISOString(),
    finishedAt: "",
    foreground,
    networks,
    restarts: rec.startedAt === "" ? rec.restarts : rec.restarts + 1,
  });
}

async function prepareStart(engine: Engine, rec: ContainerRecord): Promise<ContainerRecord["networks"]> {
  // What a previous run left: the runtime's state and the exit file.
  await runtime.remove(engine.oci, rec.id, true).catch(() => undefined);
  rmSync(exitFile(engine, rec.id), { force: true });
  engine.checkCommand(rec, engine.rootView(rec.id));
  mark("engine: command checked");
  // A fuse-overlayfs root is mounted first (in namespaces of its own the container joins).
  await engine.startRootMount(rec.id);
  let net: Awaited<ReturnType<typeof attachNetwork>>;
  try {
    net = await attachNetwork(engine, rec);
  } catch (e) {
    await stopRootMount(engine, rec.id);
    throw e;
  }
  mark("engine: network attached");
  try {
    engine.writeBundle(rec, net.netnsPath, net.addresses, net.peers, net.slirp);
    mark("engine: bundle written");
  } catch (e) {
    await detachNetwork(engine, rec).catch(() => undefined);
    await stopRootMount(engine, rec.id);
    throw e;
  }
  return net.networks;
}

/** Starts a created or exited container under conmon. */
export async function startDetached(engine: Engine, rec: ContainerRecord): Promise<void> {
  const live = await refresh(engine, rec);
  if (live.state === "running" || live.state === "paused") return;
  const networks = await prepareStart(engine, rec);
  const bundle = engine.bundle(rec.id);
  try {
    const pid = await launchConmon({
      id: rec.id,
      name: rec.name,
      bundle,
      ociRoot: engine.oci.root,
      exitDir: exitDir(engine.dirs),
      socketDir: socketDir(engine.dirs),
      logPath: `${bundle}/ctr.log`,
      tty: rec.config.tty,
      stdin: rec.config.interactive,
      logMaxSize: rec.config.logMaxSize,
      exitCommand: [
        ENGINE,
        "--storage",
        engine.dirs.storage,
        "--run",
        engine.dirs.run,
        "container-cleanup",
        rec.id,
      ],
    });
    markRunning(engine, rec, pid, false, networks);
    runtime.start(engine.oci, rec.id);
    if (Object.keys(networks).length > 0) (await import("./network-cni.ts")).updatePeerHosts(engine);
  } catch (e) {
    await runtime.remove(engine.oci, rec.id, true).catch(() => undefined);
    await detachNetwork(engine, rec).catch(() => undefined);
    await stopRootMount(engine, rec.id);
    engine.db.update(rec.id, { state: rec.startedAt === "" ? "created" : "exited", pid: 0 });
    throw e;
  }
}

/** `leopard run` without -d: the runtime in-process, the terminal relayed, the exit status returned. */
export async function runForeground(engine: Engine, rec: ContainerRecord): Promise<number> {
  const networks = await prepareStart(engine, rec);
  markRunning(engine, rec, 0, true, networks);
  let code: number;
  try {
    // keep: finish() reads the cgroup's OOM count before it removes the runtime's state.
    const go = () => run({ id: rec.id, bundle: engine.bundle(rec.id), state: engine.oci, keep: true });
    // As docker: stdin only with -i, the output logged too (not with --rm: nothing would read it).
    // A terminal (-t) is relayed by the runtime, keystrokes only with -i, its output logged as
    // docker logs a tty's: one stream, stdout.
    const c = rec.config;
    const logPath = c.autoRemove ? undefined : `${engine.bundle(rec.id)}/ctr.log`;
    code = c.tty
      ? await run({
          id: rec.id,
          bundle: engine.bundle(rec.id),
          state: engine.oci,
          keep: true,
          relay: { stdin: c.interactive, log: logPath === undefined ? undefined : ttyLog(logPath) },
        })
      : await withForegroundStdio({ stdin: c.interactive, logPath }, go);
  } catch (e) {
    await finish(engine, { ...rec, foreground: true }, 125);
    throw e;
  }
  mark("engine: container exited");
  await finish(engine, { ...rec, foreground: true }, code);
  mark("engine: finished");
  return code;
}

async function waitExited(engine: Engine, id: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rt = runtimeStatus(engine, id);
    if (rt === undefined || rt.status === "stopped") return true;
    if (Date.now() >= deadline) return false;
    await Bun.sleep(20);
  }
}

export function kill(engine: Engine, rec: ContainerRecord, signal: string): void {
  if (rec.state !== "running" && rec.state !== "paused")
    throw new LeopardError("bad-state", `container ${rec.name} is not running`);
  runtime.kill(engine.oci, rec.id, signal, false);
}

/** The stop signal, then SIGKILL once `timeoutSec` has passed; returns once the container has exited. */
export async function stop(engine: Engine, rec: ContainerRecord, timeoutSec: number): Promise<void> {
  const live = await refresh(engine, rec);
  if (live.state !== "running" && live.state !== "paused") return;
  if (live.state === "paused") runtime.kill(engine.oci, rec.id, "SIGKILL", true);
  else {
    try {
      runtime.kill(engine.oci, rec.id, rec.config.stopSignal, false);
    } catch {
      // It exited meanwhile (the runtime refuses to signal a stopped container): waitExited below sees it.
    }
  }
  if (!(await waitExited(engine, rec.id, timeoutSec * 1000))) {
    try {
      runtime.kill(engine.oci, rec.id, "SIGKILL", true);
    } catch {
      // It exited meanwhile: waitExited below sees it.
    }
    if (!(await waitExited(engine, rec.id, 10_000)))
      throw new LeopardError("bad-state", `container ${rec.name} did not stop after SIGKILL`);
  }
  if (!rec.foreground) await finish(engine, live);
  else for (let i = 0; i < 100 && engine.db.find(rec.id)?.state !== "exited"; i++) await Bun.sleep(20);
}

/** Waits until the container has exited; its exit code. */
export async function wait(engine: Engine, rec: ContainerRecord): Promise<number> {
  for (;;) {
    const live = await refresh(engine, engine.db.find(rec.id) ?? { ...rec, state: "exited" });
    if (live.state === "exited" || live.state === "created") return live.exitCode;
    await Bun.sleep(50);
  }
}

/**
 * The container's cgroup when the runtime's state is gone but the cgroup is not (the run
 * directory was lost, as after a crash that left the kernel up): found from the config.
 */
function removeOrphanCgroup(engine: Engine, id: string): void {
  try {
    const { loadSpec } = require("../config/load.ts") as typeof import("../config/load.ts");
    const { cgroupPathsFor, reopenCgroup } =
      require("../runtime/cgroup.ts") as typeof import("../runtime/cgroup.ts");
    const cg = reopenCgroup(cgroupPathsFor(loadSpec(engine.bundle(id)), id, false, engineRootless()));
    if (cg?.exists()) cg.destroy();
  } catch {
    // No config left to find the cgroup from, or the cgroup is gone: nothing to remove.
  }
}

export async function removeContainer(
  engine: Engine,
  rec: ContainerRecord,
  opts: { force: boolean; volumes: boolean },
): Promise<void> {
  // Not refresh(): with --rm, finish() calls back here.
  const rt = runtimeStatus(engine, rec.id);
  if (rt && rt.status !== "stopped" && engine.db.find(rec.id)) {
    if (!opts.force)
      throw new LeopardError(
        "bad-state",
        `cannot remove container ${rec.name}: it is running: stop it first or use --force`,
      );
    try {
      runtime.kill(engine.oci, rec.id, "SIGKILL", true);
    } catch {
      // It exited meanwhile: waitExited below sees it.
    }
    await waitExited(engine, rec.id, 10_000);
  }
  const anon = engine.anonymousVolumes(rec);
  // The record goes last: if anything below fails, the container is still listed and `rm` retries.
  try {
    await runtime.remove(engine.oci, rec.id, true);
  } catch (e) {
    // conmon's exit command may be removing the same container right now: fine once it is gone.
    if (runtimeStatus(engine, rec.id) !== undefined) throw e;
  }
  removeOrphanCgroup(engine, rec.id);
  await detachNetwork(engine, rec);
  const { removeRootfs } = await import("../image/rootfs.ts");
  await removeRootfs(engine.store, rec.id);
  rmSync(exitFile(engine, rec.id), { force: true });
  rmSync(`${socketDir(engine.dirs)}/${rec.id}`, { recursive: true, force: true });
  engine.db.remove(rec.id);
  if (opts.volumes) {
    for (const v of anon) {
      if (engine.volumeUsers(v).length === 0) {
        rmSync(`${engine.dirs.storage}/volumes/${v}`, { recursive: true, force: true });
        engine.db.removeVolume(v);
      }
    }
  }
}

export { short };
