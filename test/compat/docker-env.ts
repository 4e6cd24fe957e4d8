// A dockerd of our own for the compatibility tests: Debian's docker.io (20.10) with its data root,
// exec root, socket, pid file and config in one temp dir, its own containerd (which dockerd starts
// with its state under the exec root), no iptables and no bridge (the host's networking stays as
// it is), `--add-runtime leopard=bin/leopard-oci`, and containers' cgroups under a parent of the
// test's own. The busybox image is imported from the rootfs tar (no registry). Stopped by pid.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { mountsMentioning, rootfs } from "../integration/harness.ts";
import { removeCgroups } from "./podman-env.ts";

/** Debian's client and daemon by their paths: /usr/local/bin/docker may be another client. */
export const DOCKER = existsSync("/usr/bin/docker") ? "/usr/bin/docker" : undefined;
export const DOCKERD = existsSync("/usr/sbin/dockerd") ? "/usr/sbin/dockerd" : undefined;
export const IMAGE = "leopard-busybox:test";
/** dockerd 20.10 writes its trust key here whatever its flags say; removed again if it was not there. */
const TRUST_KEY = "/etc/docker/key.json";

export interface DockerResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout as it came (a tar stream from `cp CTR:/f -`, `save`). */
  bytes: Uint8Array;
}

export interface DockerCallOptions {
  /** Gives the client a terminal (script(1)) for -t. */
  tty?: boolean;
  /** The client's stdin (else none). */
  stdin?: string | Uint8Array;
}

export interface DockerEnv {
  dir: string;
  /** Runs the docker client against our daemon; tty gives it a terminal (script(1)) for -t. */
  docker(args: string[], opts?: DockerCallOptions): DockerResult;
  /** Removes every container, stops dockerd and its containerd by pid, removes the temp dir: what was left behind. */
  cleanup(): Promise<{ mounts: string[]; cgroups: string[]; processes: string[] }>;
}

export interface DockerEnvOptions {
  /** dockerd's --cgroup-parent (cgroupfs driver): every container's cgroup goes beneath it. */
  cgroupParent: string;
  /** name → OCI runtime path, for --add-runtime. */
  runtimes: Readonly<Record<string, string>>;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const readPid = (file: string): number => {
  try {
    return Number(readFileSync(file, "utf8").trim()) || 0;
  } catch {
    return 0;
  }
};

/** Starts dockerd and imports IMAGE. Throws (having stopped everything) when either fails. */
export async function makeDockerEnv(opts: DockerEnvOptions): Promise<DockerEnv> {
  const dir = mkdtempSync(join(tmpdir(), "leopard-docker-"));
  const hadTrustKey = existsSync(TRUST_KEY);
  // An empty config: /etc/docker/daemon.json (if any) is the host's, not ours.
  writeFileSync(join(dir, "daemon.json"), "{}\n");
  mkdirSync(join(dir, "exec"));
  const sock = join(dir, "docker.sock");
  const argv = [
    DOCKERD ?? "dockerd",
    "--config-file",
    join(dir, "daemon.json"),
    "--data-root",
    join(dir, "data"),
    "--exec-root",
    join(dir, "exec"),
    "--pidfile",
    join(dir, "docker.pid"),
    "-H",
    `unix://${sock}`,
    "--iptables=false",
    "--ip6tables=false",
    "--ip-forward=false",
    "--ip-masq=false",
    "--bridge=none",
    "--userland-proxy=false",
    "--exec-opt",
    "native.cgroupdriver=cgroupfs",
    "--cgroup-parent",
    opts.cgroupParent,
    "--default-runtime",
    "runc",
    ...Object.entries(opts.runtimes).flatMap(([name, path]) => ["--add-runtime", `${name}=${path}`]),
  ];
  const log = Bun.file(join(dir, "dockerd.log"));
  const daemon: Subprocess = Bun.spawn(argv, { stdin: "ignore", stdout: log, stderr: log });

  const docker = (args: string[], o: DockerCallOptions = {}): DockerResult => {
    const full = [DOCKER ?? "docker", "-H", `unix://${sock}`, ...args];
    const cmd = o.tty
      ? ["script", "-qec", full.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" "), "/dev/null"]
      : full;
    const r = Bun.spawnSync(cmd, {
      env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", DOCKER_CONFIG: join(dir, "client") },
      stdin: o.stdin === undefined ? "ignore" : new Blob([o.stdin]),
      stdout: "pipe",
      stderr: "pipe",
    });
    const clean = (s: string) => s.replaceAll("\r", "").replaceAll("^@", "");
    return {
      code: r.exitCode ?? -1,
      stdout: clean(r.stdout.toString()),
      stderr: r.stderr.toString(),
      bytes: new Uint8Array(r.stdout),
    };
  };

  const cleanup = async () => {
    const ids = docker(["ps", "-aq"]).stdout.split("\n").filter(Boolean);
    if (ids.length > 0) docker(["rm", "-f", ...ids]);
    // dockerd stops the containerd it started; its pid is read first, in case it does not.
    const containerd = readPid(join(dir, "exec/containerd/containerd.pid"));
    daemon.kill("SIGTERM");
    const stopped = await Promise.race([daemon.exited.then(() => true), Bun.sleep(30_000).then(() => false)]);
    if (!stopped) {
      daemon.kill("SIGKILL");
      await daemon.exited;
    }
    const processes: string[] = [];
    if (containerd > 0 && alive(containerd)) {
      processes.push(`containerd ${containerd}`);
      process.kill(containerd, "SIGKILL");
    }
    // Shims (and anything else) still running from our dir are leaks: reported, then killed.
    const ps = Bun.spawnSync(["pgrep", "-f", dir]).stdout.toString().split("\n").filter(Boolean);
    for (const pid of ps.map(Number).filter((p) => p !== process.pid && alive(p))) {
      processes.push(`process ${pid}`);
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    const mounts = mountsMentioning(dir);
    // Deepest first; lazily, so the temp dir can go whatever was left.
    for (const line of [...mounts].reverse()) {
      const point = line.split(" ")[4];
      if (point?.startsWith(dir)) Bun.spawnSync(["umount", "-l", point]);
    }
    rmSync(dir, { recursive: true, force: true });
    if (!hadTrustKey) rmSync(TRUST_KEY, { force: true });
    return { mounts, cgroups: removeCgroups(opts.cgroupParent), processes };
  };

  try {
    const end = Date.now() + 60_000;
    while (!existsSync(sock) || docker(["version"]).code !== 0) {
      if (daemon.exitCode !== null || Date.now() > end) {
        throw new Error(
          `dockerd did not start: ${readFileSync(join(dir, "dockerd.log"), "utf8").slice(-2000)}`,
        );
      }
      await Bun.sleep(100);
    }
    const tar = join(dir, "rootfs.tar");
    const t = Bun.spawnSync(["tar", "-C", rootfs(0), "-cf", tar, "."]);
    if (t.exitCode !== 0) throw new Error(`tar of the busybox rootfs failed: ${t.stderr.toString()}`);
    const imp = docker(["import", tar, IMAGE]);
    if (imp.code !== 0) throw new Error(`docker import failed: ${imp.stderr}`);
  } catch (e) {
    await cleanup();
    throw e;
  }
  return { dir, docker, cleanup };
}
