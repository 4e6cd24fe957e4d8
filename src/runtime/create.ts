// create: prepare (validate the bundle, look at the host, hand out the helper's fd numbers) →
// plan (pure, src/plan) → launch (the helper session, until init waits on the start FIFO).
// Nothing of TypeScript stays resident for a detached container. Nothing is made before the
// state directory and its first record, which names what comes next (the cgroups, the scope,
// then the helper): `delete` of a create killed at any point removes all of it.
import { type LaunchPlan, plan } from "../plan/plan.ts";
import { OCI_VERSION, type StoredState } from "../state/state.ts";
import { mkfifo, writeFileAtomic } from "../sys/fs.ts";
import { chmodSync, copyFileSync, mkdirSync, openSync } from "../sys/fs-sync.ts";
import { writeAll } from "../sys/io.ts";
import { ownStartTime, processStartTime } from "../sys/proc.ts";
import { mark } from "../sys/trace.ts";
import { LeopardError } from "../util/errors.ts";
import { resolve } from "../util/path.ts";
import { type ContainerCgroup, prepareCgroup, scopeUnitFor } from "./cgroup.ts";
import { runRuntimeHooks } from "./create-hooks.ts";
import { type CreateOptions, type Prepared, prepareCreate } from "./create-prepare.ts";
import { explainPlan } from "./explain.ts";
import { connectConsole, HelperSession } from "./helper-session.ts";
import { prepareIdmappedMounts } from "./idmap.ts";
import { notifyDir } from "./notify.ts";
import { containerProcessState, SeccompAgent } from "./seccomp-listener.ts";

export type { CreateOptions } from "./create-prepare.ts";

export interface Launched {
  pid: number;
  /** The helper session; in foreground mode its socket is still open (EOF = exec happened). */
  session: HelperSession;
  /** The pty master, when the container has a terminal and no console socket was given. */
  pty?: number | undefined;
  plan: LaunchPlan;
}

const O_PATH = 0o10000000;
const O_RDONLY = 0;
const O_WRONLY = 1;
const O_DIRECTORY = 0o200000;
const O_CLOEXEC = 0o2000000;

export async function create(opts: CreateOptions): Promise<Launched> {
  mark("create: modules loaded");
  const session = new HelperSession({
    preserveFds: opts.preserveFds ?? 0,
    what: "the container",
    marks: true,
  });
  try {
    const prepared = await prepareCreate(opts, session);
    session.timings.phase("validate config.json, look at the host");
    const launchPlan = plan(prepared.input);
    session.timings.phase("plan");
    mark("create: planned");
    // Warnings about ignored config, one line each, as runc prints them.
    for (const w of [...prepared.warnings, ...(launchPlan.warnings ?? [])]) {
      writeAll(2, `leopard-oci: warning: ${w}\n`);
    }
    opts.explain?.(explainPlan(launchPlan.steps));
    return await launch(opts, prepared, launchPlan, session);
  } catch (e) {
    session[Symbol.dispose]();
    throw e;
  }
}

async function launch(
  opts: CreateOptions,
  prepared: Prepared,
  launchPlan: LaunchPlan,
  session: HelperSession,
): Promise<Launched> {
  const { spec, bundle, cgroupPaths } = prepared;
  // Before anything exists: a seccomp agent that cannot be reached, or a mount the kernel refuses
  // to idmap, leaves nothing behind. Our fds close when create returns; the helper holds its own.
  using agent = SeccompAgent.connect(spec.linux.seccomp, prepared.seccomp?.listener === true);
  using idmapped = await prepareIdmappedMounts(prepared.idmaps.requests);
  // The session closes the clones once the helper holds them.
  for (const [i, fd] of idmapped.fds.splice(0).entries()) prepared.idmaps.slots[i]?.fill(fd);
  // The first record, written with the directory before anything else exists: it names the
  // cgroups and the scope about to be made, so `delete` of a create killed from here on finds
  // them (state.ts). pid 0 and a live creator: "creating"; a dead creator: "stopped".
  const stored: StoredState = {
    ociVersion: OCI_VERSION,
    id: opts.id,
    pid: 0,
    pidStartTime: "",
    bundle,
    rootfs: spec.root.path,
    created: new Date().toISOString(),
    // runc's list shows the state directory's owner: root's is left empty, a user's is named.
    owner: ownerName(),
    annotations: spec.annotations ?? {},
    ownPidNamespace: (spec.linux?.namespaces ?? []).some((n) => n.type === "pid" && !n.path),
    creatorPid: process.pid,
    creatorStartTime: ownStartTime(),
    cgroupPaths,
    ...(opts.systemdCgroup ? { systemdScope: scopeUnitFor(spec, opts.id) } : {}),
    ...(opts.systemdCgroup && prepared.rootless ? { systemdBus: "user" as const } : {}),
  };
  opts.state.claim(stored);
  mark("create: id claimed");
  let cgroup: ContainerCgroup;
  try {
    if (prepared.notifySocket) mkdirSync(notifyDir(opts.state, opts.id), { mode: 0o755 });
    cgroup = prepareCgroup(spec, cgroupPaths, opts.id, opts.systemdCgroup === true, prepared.rootless);
  } catch (e) {
    opts.state.remove(opts.id);
    throw e;
  }
  mark("create: cgroup made");
  try {
    // The config as it is now: exec and delete's hooks read this copy, not a bundle that may change.
    copyFileSync(resolve(bundle, "config.json"), `${opts.state.dir(opts.id)}/config.json`);
    // poststart and poststop run from `start` and `delete`, which should not parse the config.
    if (spec.hooks.poststart.length + spec.hooks.poststop.length > 0) {
      const { poststart, poststop } = spec.hooks;
      writeFileAtomic(
        `${opts.state.dir(opts.id)}/hooks.json`,
        JSON.stringify({ poststart, poststop }),
        0o644,
        false,
      );
    }
    const fifo = opts.state.fifo(opts.id);
    mkfifo(fifo, 0o622);
    chmodSync(fifo, 0o622);
    mark("create: state dir ready");
    session.timings.phase("claim the id, make the cgroup and the state directory");
    // Opened here, by the runtime, and inherited: the container's user may not reach these paths.
    prepared.fifo.fill(openSync(fifo, O_PATH | O_CLOEXEC));
    const join = prepared.cgroupJoin;
    if (join) {
      for (const [i, f] of join.files.tasks.entries()) join.tasks[i]?.fill(openSync(f, O_WRONLY | O_CLOEXEC));
      if (join.files.unified !== undefined)
        join.unified?.fill(openSync(join.files.unified, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    }
    if (prepared.console) prepared.console.slot.fill(connectConsole(prepared.console.path));
    session.start(launchPlan.steps, (pid) => {
      // Until it joins the cgroup, only this names the helper for a `delete` of a killed create.
      stored.helperPid = pid;
      stored.helperStartTime = processStartTime(pid) ?? "";
      opts.state.write(stored);
    });
    await session.untilReady({
      idMaps: launchPlan.idMaps,
      cgroup: (pid) => cgroup.join(pid),
      hooks: (pid) => runRuntimeHooks(spec, opts.id, bundle, pid),
      seccompListener: (fd, pid) => {
        // sync 5: init's filter has a listener; the agent gets it before init goes on.
        const ctx = {
          ociVersion: OCI_VERSION,
          id: opts.id,
          status: "creating",
          initPid: pid,
          bundle,
          annotations: spec.annotations,
        };
        if (agent === undefined || spec.linux.seccomp === undefined)
          throw new LeopardError("protocol", "the helper sent a seccomp listener none was planned for");
        agent.send(fd, containerProcessState(spec.linux.seccomp, ctx, pid));
      },
    });
    session.timings.phase("the helper's ops, below");
    if (opts.mode === "detached") session.closeSocket();
    mark("create: container ready");
    const pid = session.pid;
    stored.pid = pid;
    stored.pidStartTime = processStartTime(pid) ?? "";
    delete stored.creatorPid;
    delete stored.creatorStartTime;
    delete stored.helperPid;
    delete stored.helperStartTime;
    opts.state.write(stored);
    mark("create: state written");
    if (opts.pidFile) writeFileAtomic(resolve(opts.pidFile), String(pid), 0o644, false);
    session.timings.phase("write state.json and the pid file");
    // run prints the table once the process has started (after its own `start`).
    if (opts.mode === "detached") opts.explain?.(session.timings.table(launchPlan.steps));
    return { pid, session, pty: session.pty, plan: launchPlan };
  } catch (e) {
    session.kill();
    session.closeSocket();
    try {
      cgroup.destroy();
    } catch {
      // Best effort: the error that brought us here is the one to report; delete retries the cgroup.
    }
    opts.state.remove(opts.id);
    throw e;
  }
}

function ownerName(): string {
  const uid = process.geteuid?.() ?? 0;
  if (uid === 0) return "";
  try {
    // node:os only here (a user's create): loading it costs a direct call ~0.6 ms.
    return (require("node:os") as typeof import("node:os")).userInfo().username;
  } catch {
    return String(uid);
  }
}
