// Integration test harness: real busybox root filesystems, bundles in temp dirs, the real
// bin/leopard-oci, and a check that nothing is left behind.
import { afterEach, expect, setDefaultTimeout } from "bun:test";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultSpec } from "../../src/config/defaults.ts";

// Every test here starts real containers; on a busy machine that takes longer than bun's default
// 5 s a test, which `bun test src test` (no --timeout) would otherwise apply.
setDefaultTimeout(30_000);

export const TOP = join(import.meta.dir, "../..");
export const OCI = join(TOP, "bin/leopard-oci");
export const MAPPED_BASE = 100000;

// Containers of these tests get their cgroups under /leopard-test (never the session's own).
export const CGROUP_PARENT = `/leopard-test/it-${process.pid}`;
// (Bun's spawn passes the environment it started with unless given `env: process.env`.)
process.env["LEOPARD_CGROUP_PARENT"] = CGROUP_PARENT;
/** Removes the tests' cgroup parents once empty (rmdir fails while a container still has its own). */
export function removeCgroupParents(): void {
  for (const ctl of readdirSync("/sys/fs/cgroup")) {
    for (const dir of [`/sys/fs/cgroup/${ctl}${CGROUP_PARENT}`, `/sys/fs/cgroup/${ctl}/leopard-test`]) {
      try {
        rmdirSync(dir);
      } catch {}
    }
  }
}
// Parents left by test files that do not track their bundles go at the end of the run
// (test/setup.ts, preloaded through bunfig.toml).

/** A busybox rootfs owned by `owner`, built once per checkout under build/rootfs. */
export function rootfs(owner = 0): string {
  const dir = join(TOP, "build/rootfs", `busybox-${owner}`);
  // Rebuilt when missing or older than the current layout (mnt/ was added later).
  if (!existsSync(join(dir, "bin/busybox")) || !existsSync(join(dir, "mnt"))) {
    mkdirSync(join(TOP, "build/rootfs"), { recursive: true });
    const r = Bun.spawnSync([join(TOP, "scripts/make-rootfs.sh"), dir, String(owner)], { stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`make-rootfs failed: ${r.stderr.toString()}`);
  }
  return dir;
}

type Json = Record<string, unknown>;

export interface Bundle {
  dir: string;
  root: string;
  config: Json;
  write(): void;
  cleanup(): void;
}

/** A bundle whose rootfs is the shared busybox tree (read-only bind is not needed: tests don't write to it). */
export function bundle(opts: { userns?: boolean; args?: string[]; edit?: (c: Json) => void } = {}): Bundle {
  const dir = mkdtempSync(join(tmpdir(), "leopard-test-"));
  const root = join(dir, "state");
  const spec = defaultSpec({ args: opts.args ?? ["/bin/true"] }) as unknown as Json;
  const process_ = spec["process"] as Json;
  process_["terminal"] = false;
  const linux = spec["linux"] as Json;
  spec["root"] = { path: rootfs(opts.userns ? MAPPED_BASE : 0), readonly: true };
  if (opts.userns) {
    (linux["namespaces"] as Json[]).push({ type: "user" });
    linux["uidMappings"] = [{ containerID: 0, hostID: MAPPED_BASE, size: 65536 }];
    linux["gidMappings"] = [{ containerID: 0, hostID: MAPPED_BASE, size: 65536 }];
  }
  (spec["mounts"] as Json[]).push({
    destination: "/tmp",
    type: "tmpfs",
    source: "tmpfs",
    options: ["nosuid", "nodev", "mode=1777"],
  });
  spec["hostname"] = "leopard";
  opts.edit?.(spec);
  const b: Bundle = {
    dir,
    root,
    config: spec,
    write() {
      writeFileSync(join(dir, "config.json"), JSON.stringify(b.config, null, 2));
    },
    cleanup() {
      // Force-delete anything a failed test left, then the temp dir.
      const ids = existsSync(root)
        ? Bun.spawnSync([OCI, "--root", root, "list", "-q"], { env: process.env })
            .stdout.toString()
            .split("\n")
        : [];
      for (const id of ids.filter(Boolean))
        Bun.spawnSync([OCI, "--root", root, "delete", "--force", id], { env: process.env });
      rmSync(dir, { recursive: true, force: true });
    },
  };
  b.write();
  return b;
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs leopard-oci with --root set to the bundle's state dir. */
export function oci(b: Bundle, args: string[], opts: { stdin?: string } = {}): Result {
  const r = Bun.spawnSync([OCI, "--root", b.root, ...args], {
    env: process.env,
    cwd: b.dir,
    stdin: opts.stdin === undefined ? "ignore" : Buffer.from(opts.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

export function readState(b: Bundle, id: string): Json {
  const r = oci(b, ["state", id]);
  if (r.code !== 0) throw new Error(`state ${id} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Json;
}

export function hostNs(kind: string): string {
  return readlinkSync(`/proc/self/ns/${kind}`);
}

/** Ids still in the bundle's state dir (a leak check). */
export function leftovers(b: Bundle): string[] {
  return existsSync(b.root) ? readdirSync(b.root) : [];
}

/** Waits until cond() holds (polling), or throws after timeoutMs. */
export async function until(cond: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

/** Mount points that mention a path (a leak check). */
export function mountsMentioning(s: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => l.includes(s));
}

/**
 * Bundles made through the returned function are cleaned up after each test, and the test fails
 * if one left a container's state or a mount behind.
 */
export function trackBundles(): (b: Bundle) => Bundle {
  const live: Bundle[] = [];
  afterEach(() => {
    for (const b of live.splice(0)) {
      const left = leftovers(b);
      const mounts = mountsMentioning(b.dir);
      b.cleanup();
      expect(left).toEqual([]);
      expect(mounts).toEqual([]);
    }
    removeCgroupParents();
  });
  return (b) => {
    live.push(b);
    return b;
  };
}

/**
 * `c1`, a detached /bin/sleep 60 in a new tracked bundle (exec's tests go into it); its pid.
 * `done(b)` deletes it.
 */
export function runningC1(
  use: (b: Bundle) => Bundle,
  opts: Parameters<typeof bundle>[0] = {},
): { b: Bundle; pid: number } {
  const b = use(bundle({ args: ["/bin/sleep", "60"], ...opts }));
  const r = oci(b, ["run", "-d", "c1"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return { b, pid: readState(b, "c1")["pid"] as number };
}

export const done = (b: Bundle) => expect(oci(b, ["delete", "--force", "c1"]).code).toBe(0);
