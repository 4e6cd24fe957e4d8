// A containerd of the CRI suite's own, as a Kubernetes node has it: Debian's containerd with its
// CRI plugin, config, root, state and sockets in a temp dir, the cgroupfs driver, a CNI bridge
// (bridge + portmap, and loopback, from containernetworking-plugins) on a private subnet, images
// from a docker-registry on loopback through the registry mirror config (config_path +
// hosts.toml), and two runtime handlers: `runc` and `leopard` (bin/leopard-oci as BinaryName).
// Used by test/cri/*.test.ts and bench/cri.ts.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { removeCgroups } from "../compat/podman-env.ts";
import { startRegistry } from "../image/harness.ts";
import { CriClient, type PodSandboxConfig } from "./client.ts";
import { type PushedImages, pushImages } from "./images.ts";

export const TOP = join(import.meta.dir, "../..");
export const OCI = join(TOP, "bin/leopard-oci");
export const CONTAINERD = Bun.which("containerd");
export const RUNC = Bun.which("runc");
export const HANDLERS = ["runc", "leopard"] as const;
export type Handler = (typeof HANDLERS)[number];
/** The registry name the images go by; containerd reaches it only through hosts.toml. */
const REGISTRY_NAME = "registry.leopard.test";
/** The CRI plugin's containerd namespace. */
export const K8S_NS = "k8s.io";

export interface CriEnv {
  dir: string;
  cri: CriClient;
  images: PushedImages;
  /** Under /leopard-test: each pod's cgroup_parent is a child of it. */
  cgroupParent: string;
  bridge: string;
  /** e.g. 10.199.7 (a /24). */
  subnetPrefix: string;
  /** Where the CRI plugin pins pods' network namespaces. */
  netnsDir: string;
  /** The handler's runtime state directory for the k8s.io namespace (--root of its runtime). */
  runtimeState(h: Handler): string;
  /** A pod's config: its own log dir and cgroup parent. */
  podConfig(name: string, extra?: Partial<PodSandboxConfig>): PodSandboxConfig;
  /** Removes every pod, stops containerd and the registry and removes what they made; returns what was left. */
  stop(): Promise<string[]>;
}

export interface CriEnvOptions {
  /**
   * A `leopard-oci serve` socket directory for the shims' leopard-oci calls, which must then be
   * served (LEOPARD_SERVE=1: an unserved call fails, saying why); without it, they run direct.
   */
  serveDir?: string;
  /** The BinaryName of a handler instead of runc / bin/leopard-oci (a bench's logging wrapper). */
  binaries?: Partial<Record<Handler, string>>;
}

let count = 0;

/** A /24 under 10.199 that no route of this host covers yet. */
function freeSubnet(): string {
  const routes = Bun.spawnSync(["ip", "-4", "route"]).stdout.toString();
  for (let i = 0; i < 250; i++) {
    const p = `10.199.${(process.pid + count * 37 + i) % 250}`;
    if (!routes.includes(`${p}.`)) return p;
  }
  throw new Error("no free 10.199.x.0/24 subnet for the CRI suite's bridge");
}

function config(dir: string, images: PushedImages, handlers: Record<Handler, string>): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  const runtimes = HANDLERS.flatMap((h) => [
    `[${cri}.containerd.runtimes.${h}]`,
    '  runtime_type = "io.containerd.runc.v2"',
    `[${cri}.containerd.runtimes.${h}.options]`,
    `  BinaryName = ${JSON.stringify(handlers[h])}`,
    `  Root = ${JSON.stringify(join(dir, `runtime-${h}`))}`,
    "  SystemdCgroup = false",
  ]);
  return [
    "version = 2",
    `root = "${dir}/root"`,
    `state = "${dir}/state"`,
    "[grpc]",
    `  address = "${dir}/containerd.sock"`,
    "[ttrpc]",
    `  address = "${dir}/containerd-ttrpc.sock"`,
    "[debug]",
    '  address = ""',
    "[metrics]",
    '  address = ""',
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = "${dir}/opt"`,
    `[${cri}]`,
    `  sandbox_image = "${images.pause}"`,
    "  disable_apparmor = true",
    // This VM withholds CAP_SYS_RESOURCE: an oom_score_adj below containerd's own cannot be set.
    "  restrict_oom_score_adj = true",
    "  enable_selinux = false",
    "  netns_mounts_under_state_dir = true",
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    "  systemd_cgroup = false",
    `[${cri}.containerd]`,
    '  snapshotter = "overlayfs"',
    '  default_runtime_name = "runc"',
    ...runtimes,
    `[${cri}.cni]`,
    '  bin_dir = "/usr/lib/cni"',
    `  conf_dir = "${dir}/net.d"`,
    "  max_conf_num = 1",
    `[${cri}.registry]`,
    `  config_path = "${dir}/certs.d"`,
    "",
  ].join("\n");
}

function cniConfig(dir: string, bridge: string, prefix: string): string {
  return JSON.stringify(
    {
      cniVersion: "0.4.0",
      name: `leopard-cri-${bridge}`,
      plugins: [
        {
          type: "bridge",
          bridge,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: `${prefix}.0/24` }]],
            dataDir: join(dir, "cni-ipam"),
          },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

/** Processes whose command line mentions s (containerd's shims name its socket). */
function processesMentioning(s: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, "utf8").includes(s)) pids.push(Number(p));
    } catch {}
  }
  return pids;
}

/** Starts the registry, pushes the images, starts containerd and pulls the images through CRI. */
export async function startCri(opts: CriEnvOptions = {}): Promise<CriEnv> {
  if (!CONTAINERD || !RUNC) throw new Error("the CRI suite needs containerd and runc: run make apt-deps");
  count++;
  const dir = mkdtempDir();
  const registry = await startRegistry();
  let daemon: Subprocess | undefined;
  const bridge = `lcri${process.pid % 100000}${count}`;
  const cgroupParent = `/leopard-test/cri-${process.pid}-${count}`;
  const subnetPrefix = freeSubnet();
  const netnsDir = join(dir, "state/io.containerd.grpc.v1.cri/netns");
  let cri: CriClient | undefined;

  const stop = async (): Promise<string[]> => {
    const left: string[] = [];
    if (cri) {
      const pods = await cri.attempt("ListPodSandbox", {});
      for (const p of "items" in pods ? pods.items : []) {
        left.push(`pod ${p.metadata?.name ?? p.id}`);
        await cri.attempt("StopPodSandbox", { pod_sandbox_id: p.id });
        await cri.attempt("RemovePodSandbox", { pod_sandbox_id: p.id });
      }
      cri.close();
    }
    if (daemon) {
      daemon.kill("SIGTERM");
      await daemon.exited;
    }
    for (const pid of processesMentioning(join(dir, "containerd.sock"))) {
      left.push(`process ${pid}: ${readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ")}`);
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    const mounts = readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .map((l) => l.split(" ")[4] ?? "")
      .filter((m) => m.startsWith(`${dir}/`))
      .reverse();
    for (const m of mounts) {
      left.push(`mount ${m}`);
      Bun.spawnSync(["umount", "-l", m]);
    }
    if (existsSync(`/sys/class/net/${bridge}`)) Bun.spawnSync(["ip", "link", "del", bridge]);
    rmSync(dir, { recursive: true, force: true });
    left.push(...removeCgroups(cgroupParent).map((c) => `cgroup ${c}`));
    await registry.stop();
    return left;
  };

  try {
    const images = await pushImages(registry.host, REGISTRY_NAME);
    mkdirSync(join(dir, `certs.d/${REGISTRY_NAME}`), { recursive: true });
    writeFileSync(
      join(dir, `certs.d/${REGISTRY_NAME}/hosts.toml`),
      [
        `server = "http://${registry.host}"`,
        `[host."http://${registry.host}"]`,
        '  capabilities = ["pull", "resolve"]',
        "",
      ].join("\n"),
    );
    mkdirSync(join(dir, "net.d"));
    writeFileSync(join(dir, "net.d/10-leopard-cri.conflist"), cniConfig(dir, bridge, subnetPrefix));
    writeFileSync(
      join(dir, "config.toml"),
      config(dir, images, { runc: opts.binaries?.runc ?? RUNC, leopard: opts.binaries?.leopard ?? OCI }),
    );
    mkdirSync(join(dir, "logs"));
    // leopard-oci (started by the shims) runs direct unless a server of our own is named: never
    // through a server some other checkout started.
    const env: Record<string, string> = {
      PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      LEOPARD_SERVE_DIR: opts.serveDir ?? join(dir, "no-serve"),
      LEOPARD_SERVE: opts.serveDir ? "1" : "0",
    };
    daemon = Bun.spawn([CONTAINERD, "--config", join(dir, "config.toml")], {
      env,
      stdin: "ignore",
      stdout: Bun.file(join(dir, "containerd.log")),
      stderr: Bun.file(join(dir, "containerd.log")),
    });
    const socket = join(dir, "containerd.sock");
    const end = Date.now() + 30_000;
    while (!existsSync(socket)) {
      if (daemon.exitCode !== null || Date.now() > end)
        throw new Error(`containerd did not start: ${log(dir)}`);
      await Bun.sleep(20);
    }
    cri = new CriClient(socket);
    await cri.call("Version", { version: "v1" });
    for (const image of [images.pause, images.busybox, images.noentry]) {
      await cri.call("PullImage", { image: { image } });
    }
    const c = cri;
    return {
      dir,
      cri: c,
      images,
      cgroupParent,
      bridge,
      subnetPrefix,
      netnsDir,
      runtimeState: (h) => join(dir, `runtime-${h}`, K8S_NS),
      podConfig: (name, extra = {}) => {
        const uid = `${name}-${count}-${Date.now()}`;
        const logs = join(dir, "logs", uid);
        return {
          metadata: { name, uid, namespace: "leopard-test", attempt: 0 },
          hostname: name,
          log_directory: logs,
          ...extra,
          linux: {
            cgroup_parent: `${cgroupParent}/pod-${uid}`,
            ...extra.linux,
          },
        };
      },
      stop,
    };
  } catch (e) {
    const left = await stop();
    throw new Error(
      `${e instanceof Error ? e.message : String(e)}${left.length ? `; left: ${left.join(", ")}` : ""}`,
    );
  }
}

function mkdtempDir(): string {
  return mkdtempSync(join(tmpdir(), `leopard-cri-${process.pid}-${count}-`));
}

function log(dir: string): string {
  try {
    return readFileSync(join(dir, "containerd.log"), "utf8").slice(-3000);
  } catch {
    return "";
  }
}

/** Removes a pod's cgroup_parent (kubelet's job) once the runtimes removed the containers' cgroups. */
export function removePodCgroup(parent: string): string[] {
  const left: string[] = [];
  for (const h of readdirSync("/sys/fs/cgroup")) {
    const d = join("/sys/fs/cgroup", h, parent);
    if (!existsSync(d)) continue;
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) left.push(join(d, e.name));
    try {
      rmdirSync(d);
    } catch {}
  }
  return left;
}
