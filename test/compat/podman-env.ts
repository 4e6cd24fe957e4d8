// A podman of our own for tests and benchmarks: storage, run state and temp files in one temp
// dir, a containers.conf fit for this kind of machine, and a busybox image imported from the
// rootfs tar (no registry). Used by test/compat/podman.test.ts and bench/podman.ts.
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mountsMentioning, rootfs } from "../integration/harness.ts";

export const PODMAN = Bun.which("podman");
export const IMAGE = "localhost/leopard-busybox:test";

export interface PodmanResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface PodmanEnv {
  dir: string;
  env: Record<string, string>;
  /** Runs podman with our storage and the given runtime (an absolute path or a name on $PATH). */
  podman(runtime: string, args: string[], opts?: { tty?: boolean }): PodmanResult;
  /** Removes every container and image, then the temp dir and the cgroup parent: what was left behind. */
  cleanup(runtimes: readonly string[]): { mounts: string[]; cgroups: string[] };
}

/** Removes a cgroup parent in every hierarchy, deepest first (only empty ones go); returns what stayed. */
export function removeCgroups(parent: string): string[] {
  const left: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
    try {
      rmdirSync(d);
    } catch {
      left.push(d);
    }
  };
  for (const h of readdirSync("/sys/fs/cgroup")) {
    const d = join("/sys/fs/cgroup", h, parent);
    if (existsSync(d) && statSync(d).isDirectory()) walk(d);
  }
  return left;
}

/** A bridge network of the env's own (netavark, podman 4's default backend), made the default. */
export interface PodmanBridge {
  /** The network's name, e.g. "lpbench". */
  name: string;
  /** The bridge interface, e.g. "lpbpod0"; the caller deletes it (`ip link del`) afterwards. */
  iface: string;
  /** e.g. "10.79.0.0/24" and "10.79.0.1". */
  subnet: string;
  gateway: string;
}

export interface PodmanEnvOptions {
  cgroupParent: string;
  /** Without it containers get no network namespace of their own by default (netns "none"). */
  bridge?: PodmanBridge;
  /** An image archive (docker or OCI) to `podman load` and tag as IMAGE instead of the rootfs tar. */
  archive?: string;
  /** podman's cgroup manager (default cgroupfs; systemd where systemd is init). */
  cgroupManager?: "cgroupfs" | "systemd";
  /** Default overlay; vfs where the temp dir is a tmpfs podman refuses overlay on (the test VM). */
  storageDriver?: "overlay" | "vfs";
}

/** Sets up the temp dir, containers.conf and the imported IMAGE. Throws when podman fails. */
export function makePodmanEnv(opts: PodmanEnvOptions): PodmanEnv {
  const dir = mkdtempSync(join(tmpdir(), "leopard-podman-"));
  // This VM lacks CAP_SYS_RESOURCE above a hard nofile of 20000. The bridge, when asked for, is
  // netavark's with its config (and IPAM) in the temp dir, so the host's podman0 stays untouched.
  const b = opts.bridge;
  writeFileSync(
    join(dir, "containers.conf"),
    [
      "[containers]",
      'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
      b ? 'netns = "bridge"' : 'netns = "none"',
      "[engine]",
      `cgroup_manager = "${opts.cgroupManager ?? "cgroupfs"}"`,
      'events_logger = "file"',
      // Network state in the temp dir too: /etc/containers may be read-only (the test VM's is).
      "[network]",
      `network_config_dir = ${JSON.stringify(join(dir, "networks"))}`,
      ...(b ? ['network_backend = "netavark"', `default_network = ${JSON.stringify(b.name)}`] : []),
      "",
    ].join("\n"),
  );
  if (b) writeBridge(dir, b);
  const env = { ...(process.env as Record<string, string>), CONTAINERS_CONF: join(dir, "containers.conf") };
  const podman = (runtime: string, args: string[], o: { tty?: boolean } = {}): PodmanResult => {
    const argv = [
      PODMAN ?? "podman",
      "--root",
      join(dir, "root"),
      "--runroot",
      join(dir, "runroot"),
      "--tmpdir",
      join(dir, "tmp"),
      "--storage-driver",
      opts.storageDriver ?? "overlay",
      "--runtime",
      runtime,
      ...args,
    ];
    // A terminal of its own for -t: script(1), as a person's shell would give.
    const cmd = o.tty
      ? ["script", "-qec", argv.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" "), "/dev/null"]
      : argv;
    const r = Bun.spawnSync(cmd, { env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const clean = (s: string) => s.replaceAll("\r", "").replaceAll("^@", "");
    return { code: r.exitCode ?? -1, stdout: clean(r.stdout.toString()), stderr: r.stderr.toString() };
  };
  const cleanup = (runtimes: readonly string[]) => {
    for (const rt of runtimes) podman(rt, ["rm", "--all", "--force", "--time", "0"]);
    podman(runtimes.at(-1) ?? "runc", ["system", "reset", "--force"]);
    const mounts = mountsMentioning(dir);
    rmSync(dir, { recursive: true, force: true });
    return { mounts, cgroups: removeCgroups(opts.cgroupParent) };
  };
  try {
    addImage(podman, dir, opts.archive);
  } catch (e) {
    cleanup(["runc"]);
    throw e;
  }
  return { dir, env, podman, cleanup };
}

type Podman = PodmanEnv["podman"];

function addImage(podman: Podman, dir: string, archive: string | undefined): void {
  if (archive) {
    const load = podman("runc", ["load", "-q", "-i", archive]);
    if (load.code !== 0) throw new Error(`podman load failed: ${load.stderr}`);
    // "Loaded image: NAME" or "Loaded image(s): NAME,…"
    const name =
      load.stdout
        .trim()
        .replace(/^Loaded image(\(s\))?:\s*/, "")
        .split(",")[0] ?? "";
    const tag = podman("runc", ["tag", name, IMAGE]);
    if (tag.code !== 0) throw new Error(`podman tag ${name} failed: ${tag.stderr}`);
    return;
  }
  const tar = join(dir, "rootfs.tar");
  const t = Bun.spawnSync(["tar", "-C", rootfs(0), "-cf", tar, "."]);
  if (t.exitCode !== 0) throw new Error(`tar of the busybox rootfs failed: ${t.stderr.toString()}`);
  const imp = podman("runc", ["import", tar, IMAGE]);
  if (imp.code !== 0 || imp.stderr.includes("Error")) throw new Error(`podman import failed: ${imp.stderr}`);
}

/**
 * The network's file, written before podman first runs: podman 4.3 has no --interface-name, and
 * the default network it would make in memory is always on "podman0". dns off like podman's
 * own default network (so no aardvark-dns stays running).
 */
function writeBridge(dir: string, b: PodmanBridge): void {
  mkdirSync(join(dir, "networks"), { recursive: true });
  const network = {
    name: b.name,
    id: createHash("sha256").update(`leopard-bench ${b.name}`).digest("hex"),
    driver: "bridge",
    network_interface: b.iface,
    created: new Date().toISOString(),
    subnets: [{ subnet: b.subnet, gateway: b.gateway }],
    ipv6_enabled: false,
    internal: false,
    dns_enabled: false,
    ipam_options: { driver: "host-local" },
  };
  writeFileSync(join(dir, "networks", `${b.name}.json`), JSON.stringify(network, null, 2));
}
