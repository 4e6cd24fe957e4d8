// A user's own systemd manager (user@UID.service), in the VM booted with systemd as init
// (`make test-cgroup-v2`'s --systemd boots; elsewhere these tests are skipped). A test user with
// subordinate ids (harness.ts) gets its manager started; leopard is installed into a tmpfs prefix
// with the user units in /run/systemd/user, where every user manager looks.
// - Socket activation for a user: the user starts leopard-oci.socket and leopard.socket with
//   `systemctl --user`; calls with LEOPARD_SERVE=1 (an unserved call fails) and no
//   LEOPARD_SERVE_DIR find the sockets in $XDG_RUNTIME_DIR/leopard-serve, the default, and start
//   the services as the user; idle, a service exits (a drop-in's --idle-exit, as the README says
//   to change it) and the next call starts it again.
// - A delegated cgroup v2 subtree (cgroup v2 layout only): a rootless container with limits, created
//   from a scope the user's manager made (`systemd-run --user --scope`), gets its cgroup beside
//   that scope (runc's fs2 rule) with the limits written, and loses it at delete. Without a cgroup
//   the user may write, runc's rootless rule: limits are refused in one line (runc refuses them
//   too), no limits means no cgroup and no error. --systemd-cgroup rootless asks the user's own
//   manager on the user's bus (runc's systemd driver, the reference beside it).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { until } from "../integration/harness.ts";
import {
  cannotRun,
  makeRootlessUser,
  oneLine,
  type Result,
  type RootlessUser,
  RUNC,
  TOP,
} from "./harness.ts";

// Under the VM's software emulation a server's start takes several seconds, a user manager's ~30 s
// (its runtime directory's service waits for logind on D-Bus, which this boot does not run).
setDefaultTimeout(600_000);
const SYSTEMD = existsSync("/run/systemd/system");
/** The cgroup-v2-only layout: cgroup2 mounted at /sys/fs/cgroup itself. */
const V2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
const why = SYSTEMD ? cannotRun() : "not booted with systemd as init";
/** Where a user manager reads units that are not installed for good (systemd.unit(5)). */
const USER_UNITS = "/run/systemd/user";
const prefix = mkdtempSync(join(tmpdir(), "leopard-user-prefix-"));
// The installed tree is root's and every user's to run (mkdtemp made it 0700).
chmodSync(prefix, 0o755);
const OCI = join(prefix, "bin/leopard-oci");
const LEOPARD = join(prefix, "bin/leopard");
/** Served or fail; no LEOPARD_SERVE_DIR: the default directory is what is tested. */
const SERVED = { LEOPARD_SERVE: "1", LEOPARD_SERVE_WAIT_MS: "300000" };
let user: RootlessUser;
let bundle: string;
type Json = Record<string, unknown>;

function run(argv: string[]): Result {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString().trim(), stderr: r.stderr.toString().trim() };
}

function make(target: string) {
  const r = run([
    "make",
    "-s",
    "-C",
    TOP,
    target,
    `PREFIX=${prefix}`,
    `SYSTEMD_UNIT_DIR=${prefix}/system-units`,
    `SYSTEMD_USER_UNIT_DIR=${USER_UNITS}`,
  ]);
  if (r.code !== 0) throw new Error(`make ${target} failed: ${r.stderr}`);
}

const userManager = () => `user@${user.uid}.service`;
/** systemctl --user as the user (its manager's private socket in $XDG_RUNTIME_DIR/systemd). */
const systemctl = (...args: string[]): Result => {
  const r = user.run(["systemctl", "--user", ...args]);
  return { ...r, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
};
const active = (unit: string) => systemctl("is-active", unit).stdout;

/** The uid a process runs as (the Uid line's real id). */
function uidOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("Uid:"));
  return Number(line?.split(/\s+/)[1]);
}

/**
 * A process's cgroup in systemd's tracking hierarchy: name=systemd where there is one (the v1 and
 * hybrid layouts), else cgroup2's.
 */
function cgroupOf(pid: number): string {
  const lines = readFileSync(`/proc/${pid}/cgroup`, "utf8")
    .trim()
    .split("\n")
    .map((l) => l.split(":"));
  const line = lines.find((f) => f[1] === "name=systemd") ?? lines.find((f) => f[0] === "0" && f[1] === "");
  return line?.slice(2).join(":") ?? "";
}

/** The bundle's config (`spec --rootless`), edited, in a bundle directory of its own. */
function bundleWith(name: string, edit: (c: Json) => void): string {
  const c = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8")) as Json;
  (c["process"] as Json)["terminal"] = false;
  c["root"] = { ...(c["root"] as Json), path: join(bundle, "rootfs") };
  edit(c);
  const dir = join(user.work, name);
  user.run(["mkdir", "-p", dir]);
  writeFileSync(join(dir, "config.json"), JSON.stringify(c));
  return dir;
}
const args =
  (...a: string[]) =>
  (c: Json) => {
    (c["process"] as Json)["args"] = a;
  };
const limits = (c: Json) => {
  (c["linux"] as Json)["resources"] = { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 42 } };
};

beforeAll(() => {
  if (why) return;
  user = makeRootlessUser();
  // Whatever fails from here on, afterAll stops the manager and removes the user.
  make("install");
  // Idle exits in seconds, not the default 300, by a drop-in (the README's way to change it).
  mkdirSync(join(USER_UNITS, "leopard-oci.service.d"), { recursive: true });
  writeFileSync(
    join(USER_UNITS, "leopard-oci.service.d/idle.conf"),
    `[Service]\nExecStart=\nExecStart=${OCI} serve --idle-exit 5\n`,
  );
  const start = run(["systemctl", "start", userManager()]);
  if (start.code !== 0) throw new Error(`systemctl start ${userManager()} failed: ${start.stderr}`);
  bundle = join(user.work, "bundle");
  user.run(["mkdir", bundle]);
  user.rootfs("bundle/rootfs");
  const spec = user.run([OCI, "spec", "--rootless"], { cwd: bundle, env: { LEOPARD_SERVE: "0" } });
  if (spec.code !== 0) throw new Error(`spec --rootless failed: ${spec.stderr}`);
});

afterAll(() => {
  if (why || user === undefined) {
    rmSync(prefix, { recursive: true, force: true });
    return;
  }
  // The manager stops its services and sockets with it; its runtime directory goes with
  // user-runtime-dir@UID.service (StopWhenUnneeded).
  const stop = run(["systemctl", "stop", userManager(), `user-runtime-dir@${user.uid}.service`]);
  rmSync(join(USER_UNITS, "leopard-oci.service.d"), { recursive: true, force: true });
  make("uninstall");
  rmSync(prefix, { recursive: true, force: true });
  const left = user.cleanup();
  expect(stop).toMatchObject({ code: 0, stderr: "" });
  expect(left).toEqual([]);
  expect(existsSync(USER_UNITS) ? run(["ls", "-A", USER_UNITS]).stdout : "").toBe("");
});

describe.skipIf(why !== undefined)("a user's systemd manager", () => {
  test("leopard-oci.socket for a user: the first rootless run is served by the user's service it started; idle, the service exits; the next call starts it again", async () => {
    expect(systemctl("start", "leopard-oci.socket", "leopard.socket")).toMatchObject({ code: 0, stderr: "" });
    const dir = join(user.runtimeDir, "leopard-serve");
    for (const [path, mode] of [
      [dir, 0o700],
      [join(dir, "leopard-oci.sock"), 0o600],
      [join(dir, "leopard.sock"), 0o600],
    ] as const) {
      const st = statSync(path);
      expect({ path, uid: st.uid, mode: st.mode & 0o777 }).toEqual({ path, uid: user.uid, mode });
    }
    expect(active("leopard-oci.service")).toBe("inactive");
    const b = bundleWith("served", args("sh", "-c", "echo first; id -u"));
    const first = user.run([OCI, "run", "served1"], { cwd: b, env: SERVED });
    expect(first).toEqual({ code: 0, stdout: "first\n0\n", stderr: "" });
    expect(active("leopard-oci.service")).toBe("active");
    // The server runs as the user, in the user's manager's subtree.
    const pid = Number(systemctl("show", "-P", "MainPID", "leopard-oci.service").stdout);
    expect(uidOf(pid)).toBe(user.uid);
    expect(cgroupOf(pid)).toContain(`/${userManager()}/`);
    await until(() => active("leopard-oci.service") === "inactive", 300_000, "the idle exit");
    expect(active("leopard-oci.socket")).toBe("active");
    expect(systemctl("show", "-P", "Result", "leopard-oci.service").stdout).toBe("success");
    const again = user.run([OCI, "run", "served2"], { cwd: b, env: SERVED });
    expect(again).toEqual({ code: 0, stdout: "first\n0\n", stderr: "" });
    expect(active("leopard-oci.service")).toBe("active");
    expect(user.run(["ls", "-A", join(user.runtimeDir, "leopard")]).stdout).toBe("");
  });

  test("leopard.socket for a user: the engine, rootless, served by the user's leopard.service", () => {
    expect(active("leopard.service")).toBe("inactive");
    // The embedded busybox image is made by the first run that names it.
    const r = user.run(
      [LEOPARD, "run", "--rm", "--network", "none", "busybox", "sh", "-c", "echo engine; id -u"],
      {
        env: SERVED,
      },
    );
    expect(r).toEqual({ code: 0, stdout: "engine\n0\n", stderr: "" });
    expect(active("leopard.service")).toBe("active");
    const pid = Number(systemctl("show", "-P", "MainPID", "leopard.service").stdout);
    expect(uidOf(pid)).toBe(user.uid);
    expect(user.run([LEOPARD, "ps", "-a", "-q"], { env: SERVED })).toMatchObject({ code: 0, stdout: "" });
  });
});

describe.skipIf(why !== undefined || !V2)(
  "a rootless container in a user's delegated cgroup v2 subtree",
  () => {
    /** `leopard-oci create ID` in bundle b, run as the user in a scope of its manager with Delegate=yes. */
    const createInDelegatedScope = (b: string, unit: string, id: string) =>
      user.run(
        [
          "systemd-run",
          "--user",
          "--scope",
          "--quiet",
          `--unit=${unit}`,
          "-p",
          "Delegate=yes",
          OCI,
          "create",
          id,
        ],
        { cwd: b, env: { LEOPARD_SERVE: "0" } },
      );

    test("created from a delegated scope: its cgroup beside the scope, in the user's subtree, with the limits written; gone at delete", () => {
      const b = bundleWith("limited", (c) => {
        args("sleep", "1000")(c);
        limits(c);
      });
      const unit = `leopard-test-${process.pid}.scope`;
      const create = createInDelegatedScope(b, unit, "lim1");
      expect(create).toEqual({ code: 0, stdout: "", stderr: "" });
      try {
        const pid = JSON.parse(user.run([OCI, "state", "lim1"]).stdout).pid as number;
        const slice = `/user.slice/user-${user.uid}.slice/${userManager()}/app.slice`;
        expect(cgroupOf(pid)).toBe(`${slice}/lim1`);
        const dir = `/sys/fs/cgroup${slice}/lim1`;
        expect(readFileSync(join(dir, "memory.max"), "utf8")).toBe(`${64 * 1024 * 1024}\n`);
        expect(readFileSync(join(dir, "pids.max"), "utf8")).toBe("42\n");
        expect(statSync(dir).uid).toBe(user.uid);
        expect(user.run([OCI, "delete", "--force", "lim1"])).toEqual({ code: 0, stdout: "", stderr: "" });
        expect(existsSync(dir)).toBe(false);
      } finally {
        user.run([OCI, "delete", "--force", "lim1"]);
      }
    });

    test("no limits asked for: no cgroup of its own, the container stays in the caller's scope (runc's fs2)", () => {
      const b = bundleWith("unlimited", args("sleep", "1000"));
      const unit = `leopard-test-${process.pid}-b.scope`;
      const create = createInDelegatedScope(b, unit, "nolim1");
      expect(create).toEqual({ code: 0, stdout: "", stderr: "" });
      try {
        const pid = JSON.parse(user.run([OCI, "state", "nolim1"]).stdout).pid as number;
        expect(cgroupOf(pid)).toBe(`/user.slice/user-${user.uid}.slice/${userManager()}/app.slice/${unit}`);
      } finally {
        expect(user.run([OCI, "delete", "--force", "nolim1"])).toMatchObject({ code: 0, stderr: "" });
      }
    });

    test("--systemd-cgroup rootless: the user's own manager makes the scope (user.slice, under its cgroup) with the limits, as runc's systemd driver does; delete stops it", () => {
      const b = bundleWith("scoped", (c) => {
        args("sleep", "1000")(c);
        limits(c);
      });
      const runcRoot = join(user.work, "runc-sd");
      for (const [runtime, id, unit] of [
        [[OCI], "sd1", "leopard-sd1.scope"],
        [[RUNC, "--root", runcRoot], "sd2", "runc-sd2.scope"],
      ] as const) {
        const create = user.run([...runtime, "--systemd-cgroup", "create", id], {
          cwd: b,
          env: { LEOPARD_SERVE: "0" },
        });
        expect({ id, code: create.code }).toEqual({ id, code: 0 });
        try {
          const pid = JSON.parse(user.run([...runtime, "state", id]).stdout).pid as number;
          const path = `/user.slice/user-${user.uid}.slice/${userManager()}/user.slice/${unit}`;
          expect(cgroupOf(pid)).toBe(path);
          expect(active(unit)).toBe("active");
          const dir = `/sys/fs/cgroup${path}`;
          expect(readFileSync(join(dir, "memory.max"), "utf8")).toBe(`${64 * 1024 * 1024}\n`);
          expect(readFileSync(join(dir, "pids.max"), "utf8")).toBe("42\n");
          expect(user.run([...runtime, "--systemd-cgroup", "delete", "--force", id])).toMatchObject({
            code: 0,
            stdout: "",
          });
          expect(existsSync(dir)).toBe(false);
          expect(active(unit)).not.toBe("active");
        } finally {
          user.run([...runtime, "--systemd-cgroup", "delete", "--force", id]);
        }
      }
    });

    test("outside the user's subtree (a root-owned cgroup): limits are refused in one line, as runc refuses them; none asked for, the container runs", () => {
      const root = cgroupOf(process.pid);
      expect(statSync(`/sys/fs/cgroup${root}`).uid).toBe(0);
      const b = bundleWith("refused", (c) => {
        args("true")(c);
        limits(c);
      });
      const r = user.run([OCI, "run", "ref1"], { cwd: b, env: { LEOPARD_SERVE: "0" } });
      expect(r.code).not.toBe(0);
      expect(oneLine(r.stderr)).toEqual({
        line: "leopard-oci: run ref1: cannot set linux.resources.memory: a rootless container could not make its cgroup (no cgroup this user may write; a systemd user session delegates one)",
        lines: 1,
      });
      expect(user.run(["ls", "-A", join(user.runtimeDir, "leopard")]).stdout).toBe("");
      const runc = user.run([RUNC, "--root", join(user.work, "runc"), "run", "ref2"], { cwd: b });
      user.run([RUNC, "--root", join(user.work, "runc"), "delete", "--force", "ref2"]);
      expect(runc.code).not.toBe(0);
      expect(runc.stderr).toContain("rootless needs no limits");
      const free = bundleWith("free", args("echo", "free"));
      expect(user.run([OCI, "run", "free1"], { cwd: free, env: { LEOPARD_SERVE: "0" } })).toEqual({
        code: 0,
        stdout: "free\n",
        stderr: "",
      });
    });
  },
);
