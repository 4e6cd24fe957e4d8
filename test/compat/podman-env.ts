// A podman of our own for tests and benchmarks: storage, run state and temp files in one temp
// dir, a containers.conf fit for this kind of machine, and a busybox image imported from the
// rootfs tar (no registry). Used by test/compat/podman.test.ts and bench/podman.ts.
import { existsSync, mkdtempSync, readdirSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs";
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

/** Sets up the temp dir, containers.conf and the imported IMAGE. Throws when podman fails. */
export function makePodmanEnv(opts: { cgroupParent: string }): PodmanEnv {
  const dir = mkdtempSync(join(tmpdir(), "leopard-podman-"));
  // This VM lacks CAP_SYS_RESOURCE above a hard nofile of 20000; no bridge networking needed.
  writeFileSync(
    join(dir, "containers.conf"),
    [
      "[containers]",
      'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
      'netns = "none"',
      "[engine]",
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      "",
    ].join("\n"),
  );
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
      "overlay",
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
  const tar = join(dir, "rootfs.tar");
  const t = Bun.spawnSync(["tar", "-C", rootfs(0), "-cf", tar, "."]);
  if (t.exitCode !== 0) throw new Error(`tar of the busybox rootfs failed: ${t.stderr.toString()}`);
  const imp = podman("runc", ["import", tar, IMAGE]);
  if (imp.code !== 0 || imp.stderr.includes("Error")) throw new Error(`podman import failed: ${imp.stderr}`);
  return {
    dir,
    env,
    podman,
    cleanup(runtimes) {
      for (const rt of runtimes) podman(rt, ["rm", "--all", "--force", "--time", "0"]);
      podman(runtimes.at(-1) ?? "runc", ["system", "reset", "--force"]);
      const mounts = mountsMentioning(dir);
      rmSync(dir, { recursive: true, force: true });
      return { mounts, cgroups: removeCgroups(opts.cgroupParent) };
    },
  };
}
