// The CRI scenarios' harness: pods and containers through the CRI as kubelet makes them, each
// scenario run under the runc handler (the reference) and then the leopard handler, and a check
// that a removed pod left nothing behind (network namespace, veth, cgroups, mounts, runtime
// state, processes).
import { afterAll, beforeAll, expect, setDefaultTimeout } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ContainerConfig, ContainerStatus, CriClient, PodSandboxConfig } from "./client.ts";
import { CriError } from "./client.ts";
import { type CriEnv, HANDLERS, type Handler, removePodCgroup, startCri } from "./env.ts";

export { CriError, HANDLERS };
export type { ContainerConfig, CriEnv, Handler, PodSandboxConfig };

/** The shared state of one test file: its containerd and the table printed at the end. */
export interface Suite {
  env(): CriEnv;
  /**
   * Runs the scenario under runc, then leopard; runc's result must be `expected` (so a scenario
   * cannot pass vacuously) and leopard's must be runc's.
   */
  both<T>(name: string, expected: T, scenario: (h: Handler) => Promise<T>): Promise<void>;
  /**
   * A difference that is known and tracked elsewhere: runc's result must be `expected` and
   * leopard's must be exactly `leopard` (so the test fails when the difference changes, either way).
   */
  knownDifference<T>(
    name: string,
    why: string,
    expected: { runc: T; leopard: T },
    scenario: (h: Handler) => Promise<T>,
  ): Promise<void>;
}

/** Starts a containerd for the file in beforeAll and stops it in afterAll (failing on leftovers). */
export function criSuite(title: string): Suite {
  // containerd pulls, shims and two runtimes on a busy 2-core machine: well past bun's 5 s.
  setDefaultTimeout(180_000);
  let env: CriEnv | undefined;
  const table: string[][] = [];
  beforeAll(async () => {
    env = await startCri();
  });
  afterAll(async () => {
    const left = env ? await env.stop() : [];
    const w = (i: number) => Math.min(60, Math.max(8, ...table.map((r) => r[i]?.length ?? 0)));
    const line = (r: string[]) => r.map((c, i) => c.slice(0, 60).padEnd(w(i))).join("  ");
    process.stderr.write(
      `\n${title}\n${[["scenario", "runc", "leopard", ""], ...table].map(line).join("\n")}\n`,
    );
    expect(left).toEqual([]);
  });
  return {
    env: () => {
      if (!env) throw new Error("the CRI suite's containerd did not start");
      return env;
    },
    async both<T>(name: string, expected: T, scenario: (h: Handler) => Promise<T>) {
      const runc = await scenario("runc");
      const leopard = await scenario("leopard");
      const s = (v: T) => JSON.stringify(v) ?? "undefined";
      table.push([name, s(runc), s(leopard), s(runc) === s(leopard) ? "same" : "DIFFERENT"]);
      const [r, l]: unknown[] = [
        { name, runc },
        { name, leopard },
      ];
      expect(r).toEqual({ name, runc: expected });
      expect(l).toEqual({ name, leopard: runc });
    },
    async knownDifference<T>(
      name: string,
      why: string,
      expected: { runc: T; leopard: T },
      scenario: (h: Handler) => Promise<T>,
    ) {
      const runc = await scenario("runc");
      const leopard = await scenario("leopard");
      const s = (v: T) => JSON.stringify(v) ?? "undefined";
      table.push([name, s(runc), s(leopard), `KNOWN: ${why}`]);
      const [r, l]: unknown[] = [
        { name, runc },
        { name, leopard },
      ];
      expect(r).toEqual({ name, runc: expected.runc });
      expect(l).toEqual({ name, leopard: expected.leopard });
    },
  };
}

/** A pod made through the CRI, with what is needed to check it left nothing behind. */
export interface Pod {
  id: string;
  handler: Handler;
  config: PodSandboxConfig;
  containers: string[];
  pids: number[];
  netns: string;
  /** The host ends of the pod's veth pairs (the bridge's ports it added). */
  veths: string[];
}

interface VerboseInfo {
  pid?: number;
  runtimeSpec?: { linux?: { namespaces?: { type: string; path?: string }[] } };
}

function verbose(info: Record<string, string>): VerboseInfo {
  return info["info"] ? (JSON.parse(info["info"]) as VerboseInfo) : {};
}

/** RunPodSandbox under the handler; containers get their own PID namespace unless said otherwise (kubelet's way). */
export async function runPod(
  env: CriEnv,
  h: Handler,
  name: string,
  extra: Partial<PodSandboxConfig> = {},
): Promise<Pod> {
  const base = env.podConfig(`${name}-${h}`, extra);
  const sc = base.linux?.security_context ?? {};
  const config: PodSandboxConfig = {
    ...base,
    linux: {
      ...base.linux,
      security_context: { ...sc, namespace_options: { pid: "CONTAINER", ...sc.namespace_options } },
    },
  };
  const before = new Set(bridgePorts(env));
  const { pod_sandbox_id: id } = await env.cri.call("RunPodSandbox", { config, runtime_handler: h });
  const veths = bridgePorts(env).filter((p) => !before.has(p));
  const s = await env.cri.call("PodSandboxStatus", { pod_sandbox_id: id, verbose: true });
  const v = verbose(s.info);
  const netns = v.runtimeSpec?.linux?.namespaces?.find((n) => n.type === "network")?.path ?? "";
  return { id, handler: h, config, containers: [], pids: v.pid ? [v.pid] : [], netns, veths };
}

function bridgePorts(env: CriEnv): string[] {
  const d = `/sys/class/net/${env.bridge}/brif`;
  return existsSync(d) ? readdirSync(d) : [];
}

/** CreateContainer (the pod's namespaces as kubelet passes them) and, unless `start: false`, StartContainer. */
export async function container(
  env: CriEnv,
  pod: Pod,
  config: ContainerConfig,
  opts: { start?: boolean } = {},
): Promise<string> {
  const podNs = pod.config.linux?.security_context?.namespace_options ?? {};
  const sc = config.linux?.security_context ?? {};
  const full: ContainerConfig = {
    log_path: `${config.metadata.name}.log`,
    ...config,
    linux: {
      ...config.linux,
      security_context: { ...sc, namespace_options: { ...podNs, ...sc.namespace_options } },
    },
  };
  const { container_id: id } = await env.cri.call("CreateContainer", {
    pod_sandbox_id: pod.id,
    config: full,
    sandbox_config: pod.config,
  });
  pod.containers.push(id);
  if (opts.start !== false) {
    await env.cri.call("StartContainer", { container_id: id });
    const s = await env.cri.call("ContainerStatus", { container_id: id, verbose: true });
    const pid = verbose(s.info).pid;
    if (pid) pod.pids.push(pid);
  }
  return id;
}

export async function status(cri: CriClient, id: string): Promise<ContainerStatus> {
  const s = await cri.call("ContainerStatus", { container_id: id });
  if (!s.status) throw new Error(`no status for container ${id}`);
  return s.status;
}

/** Polls ContainerStatus until the container has exited (containerd reports it asynchronously). */
export async function exited(cri: CriClient, id: string): Promise<ContainerStatus> {
  const end = Date.now() + 60_000;
  for (;;) {
    const s = await status(cri, id);
    if (s.state === "CONTAINER_EXITED") return s;
    if (Date.now() > end) throw new Error(`container ${id} did not exit: ${s.state}`);
    await Bun.sleep(50);
  }
}

export interface Exec {
  out: string;
  err: string;
  code: number;
}

/** ExecSync with a sh -c script. */
export async function sh(cri: CriClient, id: string, script: string, timeout = 0): Promise<Exec> {
  const r = await cri.call("ExecSync", { container_id: id, cmd: ["sh", "-c", script], timeout });
  return { out: r.stdout.toString(), err: r.stderr.toString(), code: r.exit_code };
}

/** ExecSync's stdout, trimmed, when the command succeeds (else its stderr, marked). */
export async function out(cri: CriClient, id: string, script: string): Promise<string> {
  const r = await sh(cri, id, script);
  return r.code === 0 ? r.out.trim() : `exit ${r.code}: ${r.err.trim()}`;
}

/** Stops and removes the pod as kubelet does, then lists what it left behind. */
export async function removePod(env: CriEnv, pod: Pod): Promise<string[]> {
  const { cri } = env;
  for (const c of pod.containers) {
    await cri.call("StopContainer", { container_id: c, timeout: 0 });
    // StopContainer may answer before containerd has handled the exit of a container that had
    // already died: RemoveContainer waits for that, as kubelet's next sync would.
    if ((await status(cri, c)).state !== "CONTAINER_CREATED") await exited(cri, c);
    await cri.call("RemoveContainer", { container_id: c });
  }
  await cri.call("StopPodSandbox", { pod_sandbox_id: pod.id });
  await cri.call("RemovePodSandbox", { pod_sandbox_id: pod.id });
  return leftovers(env, pod);
}

/** What a removed pod left: every kind of thing a runtime or containerd makes for it. */
export async function leftovers(env: CriEnv, pod: Pod): Promise<string[]> {
  const left: string[] = [];
  const ids = [pod.id, ...pod.containers];
  const pods = await env.cri.call("ListPodSandbox", { filter: { id: pod.id } });
  if (pods.items.length > 0) left.push("pod still listed");
  const ctrs = await env.cri.call("ListContainers", { filter: { pod_sandbox_id: pod.id } });
  if (ctrs.containers.length > 0) left.push(`${ctrs.containers.length} containers still listed`);
  if (pod.netns && existsSync(pod.netns)) left.push(`netns ${pod.netns}`);
  left.push(...pod.veths.filter((p) => existsSync(`/sys/class/net/${p}`)).map((p) => `veth ${p}`));
  const parent = pod.config.linux?.cgroup_parent;
  if (parent) left.push(...removePodCgroup(parent).map((c) => `cgroup ${c}`));
  const mountinfo = readFileSync("/proc/self/mountinfo", "utf8").split("\n");
  for (const id of ids) {
    left.push(...mountinfo.filter((l) => l.includes(id)).map((l) => `mount ${l.split(" ")[4]}`));
    for (const h of HANDLERS)
      if (existsSync(join(env.runtimeState(h), id))) left.push(`${h} state of ${id.slice(0, 12)}`);
  }
  for (const pid of pod.pids) if (existsSync(`/proc/${pid}`) && !zombie(pid)) left.push(`process ${pid}`);
  return left;
}

function zombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

/** The CRI log file's lines with the timestamps dropped ("stdout F text"), sorted (two streams interleave). */
export function logLines(env: CriEnv, pod: Pod, name: string): string[] {
  const file = join(pod.config.log_directory ?? env.dir, `${name}.log`);
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const m = /^(\S+) (stdout|stderr) ([FP]) (.*)$/.exec(l);
      return m && !Number.isNaN(Date.parse(m[1] ?? "")) ? `${m[2]} ${m[3]} ${m[4]}` : `malformed: ${l}`;
    })
    .sort();
}

/** A CriError's message with ids, pids and paths under the suite's temp dir made generic. */
export function errorText(e: unknown, env: CriEnv, pod?: Pod): string {
  if (!(e instanceof CriError)) return `not a CRI error: ${String(e)}`;
  let s = e.details.replaceAll(env.dir, "<dir>");
  for (const id of pod ? [pod.id, ...pod.containers] : []) s = s.replaceAll(id, "<id>");
  return `${e.code}: ${s.replace(/[0-9a-f]{64}/g, "<id>").replace(/containerd-mount\d+/g, "containerd-mount<n>")}`;
}
