// Tests as a real unprivileged user: a user of our own (leopard-rl-<random>) with subordinate ids
// in /etc/subuid and /etc/subgid, a runtime directory /run/user/<uid> it owns (what a login
// session's pam_systemd gives), and a work directory it owns for bundles and podman's storage.
// Commands run as that user through runuser with a login-like environment (HOME, USER,
// XDG_RUNTIME_DIR, a system PATH). `cleanup` removes all of it — the user's processes (podman's
// pause process, slirp4netns), its subordinate ids, home, runtime and work directories — and
// returns what it could not remove, for the test to fail on.
//
// /dev/net/tun: this machine has no udev, so the node is 0600 where distributions ship it 0666;
// rootless networking (slirp4netns) opens it as the user. The setup makes it 0666 and cleanup
// puts the mode back.
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { join } from "node:path";
import { mountsMentioning, rootfs, TOP } from "../integration/harness.ts";

export { TOP };
export const OCI = join(TOP, "bin/leopard-oci");
export const RUNC = Bun.which("runc") ?? "/usr/sbin/runc";
export const PODMAN = Bun.which("podman");
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const TUN = "/dev/net/tun";

/** Why the rootless tests cannot run here, or undefined when they can. */
export function cannotRun(): string | undefined {
  if (process.getuid?.() !== 0) return "the setup creates a user: run as root";
  for (const tool of ["useradd", "userdel", "usermod", "runuser", "newuidmap", "newgidmap"])
    if (!Bun.which(tool, { PATH })) return `${tool} is not installed`;
  return undefined;
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RootlessUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** XDG_RUNTIME_DIR: /run/user/<uid>. */
  runtimeDir: string;
  /** A directory the user owns for bundles, storage and temp files. */
  work: string;
  /** The first subordinate id and how many (the same range for uids and gids). */
  sub: { start: number; count: number };
  /** The environment commands get. */
  env: Record<string, string>;
  /** Runs argv as the user, in `cwd` (default its work directory). */
  run(argv: readonly string[], opts?: { cwd?: string; env?: Record<string, string>; stdin?: string }): Result;
  /** As run, without blocking this process (a server in the test must answer meanwhile). */
  runAsync(argv: readonly string[]): Promise<Result>;
  /** A busybox root filesystem owned by the user (root of a one-id map), under its work directory. */
  rootfs(name: string): string;
  /** Removes the user and everything of it; returns what was left (empty when all went). */
  cleanup(): string[];
}

function sh(argv: string[]): Result {
  const r = Bun.spawnSync(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { PATH } });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

function must(argv: string[]): string {
  const r = sh(argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

function subRange(file: string, name: string): { start: number; count: number } | undefined {
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const [n, start, count] = line.split(":");
    if (n === name && start && count) return { start: Number(start), count: Number(count) };
  }
  return undefined;
}

/** The user's processes, by pid (podman's pause process and slirp4netns outlive a podman call). */
function processesOf(uid: number): number[] {
  const r = sh(["pgrep", "-U", String(uid)]);
  return r.stdout.split("\n").filter(Boolean).map(Number);
}

export function makeRootlessUser(): RootlessUser {
  const name = `leopard-rl-${Math.random().toString(36).slice(2, 8)}`;
  // The test VM (scripts/vm) loads no tun module: no node to open up there.
  const tunMode = existsSync(TUN) ? statSync(TUN).mode & 0o7777 : undefined;
  // -m: a home; Debian's useradd gives a new user SUB_UID_COUNT subordinate ids from login.defs.
  must(["useradd", "-m", "-s", "/bin/sh", name]);
  const uid = Number(must(["id", "-u", name]).trim());
  const gid = Number(must(["id", "-g", name]).trim());
  const home = must(["sh", "-c", `getent passwd ${name} | cut -d: -f6`]).trim();
  const runtimeDir = `/run/user/${uid}`;
  let sub = subRange("/etc/subuid", name);
  const user: RootlessUser = {
    name,
    uid,
    gid,
    home,
    runtimeDir,
    work: "",
    sub: sub ?? { start: 0, count: 0 },
    env: { PATH, HOME: home, USER: name, LOGNAME: name, XDG_RUNTIME_DIR: runtimeDir, LANG: "C.UTF-8" },
    run(argv, opts = {}) {
      const env = { ...this.env, ...(opts.env ?? {}) };
      const r = Bun.spawnSync(
        [
          "runuser",
          "-u",
          name,
          "--",
          "env",
          "-i",
          ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
          ...argv,
        ],
        {
          cwd: opts.cwd ?? this.work,
          stdin: opts.stdin === undefined ? "ignore" : Buffer.from(opts.stdin),
          stdout: "pipe",
          stderr: "pipe",
          env: { PATH },
        },
      );
      return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
    },
    async runAsync(argv) {
      const p = Bun.spawn(
        [
          "runuser",
          "-u",
          name,
          "--",
          "env",
          "-i",
          ...Object.entries(this.env).map(([k, v]) => `${k}=${v}`),
          ...argv,
        ],
        { cwd: this.work, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { PATH } },
      );
      const [stdout, stderr, code] = await Promise.all([
        new Response(p.stdout).text(),
        new Response(p.stderr).text(),
        p.exited,
      ]);
      return { code, stdout, stderr };
    },
    rootfs(dirName) {
      const dir = join(this.work, dirName);
      must(["cp", "-a", rootfs(0), dir]);
      must(["chown", "-hR", `${uid}:${gid}`, dir]);
      return dir;
    },
    cleanup() {
      const left: string[] = [];
      // Every process of the user, by pid, until none is left (a pause process may fork on SIGTERM).
      for (let i = 0; i < 250; i++) {
        const pids = processesOf(uid);
        if (pids.length === 0) break;
        for (const p of pids) {
          try {
            process.kill(p, "SIGKILL");
          } catch {}
        }
        Bun.sleepSync(20);
      }
      const still = processesOf(uid);
      if (still.length > 0) left.push(`processes of ${name}: ${still.join(" ")}`);
      for (const dir of [home, runtimeDir, this.work].filter(Boolean)) {
        for (const m of mountsMentioning(dir).reverse()) {
          const target = m.split(" ")[4];
          if (target) sh(["umount", "-l", target]);
        }
      }
      const range = subRange("/etc/subuid", name);
      if (range) sh(["usermod", "--del-subuids", `${range.start}-${range.start + range.count - 1}`, name]);
      const grange = subRange("/etc/subgid", name);
      if (grange)
        sh(["usermod", "--del-subgids", `${grange.start}-${grange.start + grange.count - 1}`, name]);
      const del = sh(["userdel", "-r", "-f", name]);
      if (del.code !== 0 && !del.stderr.includes("mail spool")) left.push(`userdel: ${del.stderr.trim()}`);
      for (const dir of [home, runtimeDir, this.work].filter(Boolean)) {
        rmSync(dir, { recursive: true, force: true });
        if (existsSync(dir)) left.push(dir);
        for (const m of mountsMentioning(dir)) left.push(`mount: ${m}`);
      }
      for (const f of ["/etc/subuid", "/etc/subgid", "/etc/passwd"])
        if (readFileSync(f, "utf8").includes(`${name}:`)) left.push(`${f} still names ${name}`);
      if (tunMode !== undefined) chmodSync(TUN, tunMode);
      return left;
    },
  };
  try {
    if (sub === undefined) {
      // No automatic range (login.defs without SUB_UID_*): one well above the usual ones.
      const start = 200_000_000 + (uid % 1000) * 65_536;
      must([
        "usermod",
        "--add-subuids",
        `${start}-${start + 65_535}`,
        "--add-subgids",
        `${start}-${start + 65_535}`,
        name,
      ]);
      sub = subRange("/etc/subuid", name);
      if (sub === undefined) throw new Error(`no /etc/subuid entry for ${name}`);
      user.sub = sub;
    }
    mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
    chownSync(runtimeDir, uid, gid);
    chmodSync(runtimeDir, 0o700);
    user.work = mkdtempSync(join("/tmp", `${name}-`));
    chownSync(user.work, uid, gid);
    if (tunMode !== undefined) chmodSync(TUN, 0o666);
  } catch (e) {
    user.cleanup();
    throw e;
  }
  return user;
}

/** The first line of an error output, and whether it is the only one. */
export function oneLine(stderr: string): { line: string; lines: number } {
  const lines = stderr.trim().split("\n").filter(Boolean);
  return { line: lines[0] ?? "", lines: lines.length };
}
