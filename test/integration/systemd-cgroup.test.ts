// --systemd-cgroup through leopard-oci. Where systemd is init (the VM boots of `make
// test-cgroup-v2` with systemd as PID 1 on cgroup v2, hybrid and v1, the system bus started by
// scripts/vm/with-bus.sh), the container's cgroup is a scope systemd makes, with the limits in it,
// and delete stops it. Elsewhere (this project's hosts have no systemd), the flag is refused with
// one line and nothing is left behind. Each environment runs the tests that apply to it.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { IMAGE, makePodmanEnv } from "../compat/podman-env.ts";
import { bundle, CGROUP_PARENT, OCI, oci, readState, trackBundles, until } from "./harness.ts";

// podman under the VM's software emulation takes 20-30 s for its two containers (the harness's
// 30 s default was hit once).
setDefaultTimeout(180_000);
const use = trackBundles();
const SYSTEMD = existsSync("/run/systemd/system");
const V2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
/** A scope's directory in the hierarchy holding ctl's files (the one cgroup2 hierarchy on v2). */
const scopeDir = (unit: string, ctl: string) =>
  V2 ? `/sys/fs/cgroup/machine.slice/${unit}` : `/sys/fs/cgroup/${ctl}/machine.slice/${unit}`;
const memoryLimit = (unit: string) =>
  `${scopeDir(unit, "memory")}/${V2 ? "memory.max" : "memory.limit_in_bytes"}`;
const MANAGER = ["org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager"];

type Json = Record<string, unknown>;
const withCgroup =
  (cgroupsPath: string, resources: Json = {}) =>
  (c: Json) => {
    const linux = c["linux"] as Json;
    linux["cgroupsPath"] = cgroupsPath;
    linux["resources"] = { ...(linux["resources"] as object), ...resources };
    const ns = linux["namespaces"] as { type: string }[];
    if (!ns.some((n) => n.type === "cgroup")) ns.push({ type: "cgroup" });
  };

function busctl(args: string[]): { code: number; out: string; err: string } {
  const r = Bun.spawnSync(["busctl", "--system", ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, out: r.stdout.toString().trim(), err: r.stderr.toString().trim() };
}

/** The unit's D-Bus object, or undefined when systemd has no such unit loaded. */
function unitObject(unit: string): string | undefined {
  const r = busctl(["call", ...MANAGER, "GetUnit", "s", unit]);
  return r.code === 0 ? JSON.parse(r.out.replace(/^o /, "")) : undefined;
}

/**
 * systemctl ARGS: its exit code and stderr, or after 120 s (one CI run hung in daemon-reload until
 * the VM boot's own timeout) a failure naming what systemd was still doing, instead of a hang.
 */
function systemctl(args: string[]): { code: number | null; err: string } {
  const r = Bun.spawnSync(["systemctl", ...args], { stdout: "pipe", stderr: "pipe", timeout: 120_000 });
  if (r.exitCode !== null) return { code: r.exitCode, err: r.stderr.toString().trim() };
  const jobs = Bun.spawnSync(["systemctl", "list-jobs", "--no-pager"], { stdout: "pipe", timeout: 10_000 });
  return { code: null, err: `systemctl ${args.join(" ")} did not return in 120 s; jobs: ${jobs.stdout}` };
}

function unitProperty(unit: string, iface: string, prop: string): string {
  const obj = unitObject(unit);
  if (obj === undefined) throw new Error(`${unit} is not loaded`);
  return busctl(["get-property", "org.freedesktop.systemd1", obj, `org.freedesktop.systemd1.${iface}`, prop])
    .out;
}

if (SYSTEMD) {
  describe("--systemd-cgroup with systemd as init", () => {
    test("the container's cgroup is a delegated scope systemd made, limits written in it; delete stops it", async () => {
      const id = `sd${process.pid}`;
      const unit = `leopard-test-${id}.scope`;
      const b = use(
        bundle({
          args: ["/bin/sleep", "30"],
          edit: withCgroup(`machine.slice:leopard-test:${id}`, { memory: { limit: 64 * 1024 * 1024 } }),
        }),
      );
      expect(oci(b, ["--systemd-cgroup", "run", "-d", id])).toMatchObject({ code: 0, stderr: "" });
      expect(unitProperty(unit, "Unit", "ActiveState")).toBe('s "active"');
      expect(unitProperty(unit, "Scope", "Delegate")).toBe("b true");
      expect(unitProperty(unit, "Scope", "Slice")).toBe('s "machine.slice"');
      expect(readFileSync(memoryLimit(unit), "utf8").trim()).toBe(String(64 * 1024 * 1024));
      const pid = String(readState(b, id)["pid"]);
      // In the scope in systemd's hierarchy, and in every controller's (v1: made and joined by us).
      const ctls = V2 ? [""] : ["systemd", "memory", "pids", "cpuset", "freezer"];
      for (const c of ctls)
        expect(readFileSync(`${scopeDir(unit, c)}/cgroup.procs`, "utf8").split("\n")).toContain(pid);
      expect(oci(b, ["delete", "-f", id]).code).toBe(0);
      await until(() => unitObject(unit) === undefined && ctls.every((c) => !existsSync(scopeDir(unit, c))));
    });

    test("the limits survive systemd re-applying the scope's own settings (daemon-reload)", () => {
      const id = `sdreload${process.pid}`;
      const unit = `leopard-test-${id}.scope`;
      const limits = {
        memory: { limit: 96 * 1024 * 1024 },
        pids: { limit: 40 },
        cpu: { quota: 50000, period: 100000 },
      };
      const b = use(
        bundle({ args: ["/bin/sleep", "30"], edit: withCgroup(`machine.slice:leopard-test:${id}`, limits) }),
      );
      expect(oci(b, ["--systemd-cgroup", "run", "-d", id])).toMatchObject({ code: 0, stderr: "" });
      const pidsMax = `${scopeDir(unit, "pids")}/pids.max`;
      const cpu = V2 ? `${scopeDir(unit, "")}/cpu.max` : `${scopeDir(unit, "cpu,cpuacct")}/cpu.cfs_quota_us`;
      const read = () => [memoryLimit(unit), pidsMax, cpu].map((f) => readFileSync(f, "utf8").trim());
      const before = read();
      expect(before).toEqual([String(96 * 1024 * 1024), "40", V2 ? "50000 100000" : "50000"]);
      expect(systemctl(["daemon-reload"])).toMatchObject({ code: 0 });
      // A unit change makes systemd write the scope's attributes again, from its properties.
      expect(systemctl(["set-property", "--runtime", unit, "CPUWeight=50"])).toMatchObject({ code: 0 });
      expect(read()).toEqual(before);
      // update: the new limits become the scope's properties as well.
      expect(oci(b, ["update", "--memory", "128m", "--pids-limit", "30", id])).toMatchObject({
        code: 0,
        stderr: "",
      });
      expect(systemctl(["set-property", "--runtime", unit, "CPUWeight=60"])).toMatchObject({ code: 0 });
      expect(read()).toEqual([String(128 * 1024 * 1024), "30", before[2] ?? ""]);
      expect(oci(b, ["delete", "-f", id]).code).toBe(0);
    });

    test("a limit the kernel refuses fails the create and leaves no scope, cgroup or state", async () => {
      const id = `sdbad${process.pid}`;
      const unit = `leopard-test-${id}.scope`;
      const b = use(
        bundle({
          args: ["/bin/sleep", "30"],
          // No such CPU: the kernel refuses the write, after systemd made the scope.
          edit: withCgroup(`machine.slice:leopard-test:${id}`, { cpu: { cpus: "63" } }),
        }),
      );
      const r = oci(b, ["--systemd-cgroup", "run", "-d", id]);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain("cpuset.cpus");
      await until(() => unitObject(unit) === undefined && !existsSync(scopeDir(unit, "cpuset")));
      expect(oci(b, ["list", "-q"]).stdout.trim()).toBe("");
    });

    // The scope and its first process exist from sync 2; init waits for `start` once ready.
    for (const phase of ["create: cgroup joined", "create: container ready"]) {
      test(`a create killed at "${phase}": delete --force stops its scope and leaves nothing`, async () => {
        const id = `sdkill${process.pid}`;
        const unit = `leopard-test-${id}.scope`;
        const b = use(
          bundle({
            args: ["/bin/sleep", "30"],
            edit: withCgroup(`machine.slice:leopard-test:${id}`, { pids: { limit: 20 } }),
          }),
        );
        const killed = Bun.spawnSync([OCI, "--root", b.root, "--systemd-cgroup", "create", id], {
          env: { ...process.env, LEOPARD_SERVE: "0", LEOPARD_TEST_KILL_AT: phase },
          cwd: b.dir,
          stdout: "ignore",
          stderr: "ignore",
        });
        expect(killed.signalCode).toBe("SIGKILL");
        expect(oci(b, ["state", id]).stdout).toContain('"status": "stopped"');
        expect(oci(b, ["--systemd-cgroup", "delete", "--force", id])).toMatchObject({ code: 0, stderr: "" });
        const ctls = V2 ? [""] : ["systemd", "memory", "pids", "cpuset", "freezer"];
        await until(
          () => unitObject(unit) === undefined && ctls.every((c) => !existsSync(scopeDir(unit, c))),
        );
        expect(readdirSync(b.root)).toEqual([]);
        expect(oci(b, ["--systemd-cgroup", "create", id])).toMatchObject({ code: 0, stderr: "" });
        expect(oci(b, ["--systemd-cgroup", "delete", "--force", id]).code).toBe(0);
        await until(() => unitObject(unit) === undefined);
      });
    }

    test("podman with cgroup_manager systemd runs its container through leopard-oci in a libpod scope", async () => {
      const penv = makePodmanEnv({
        cgroupParent: `/leopard-compat-${process.pid}`,
        cgroupManager: "systemd",
        storageDriver: "vfs",
      });
      try {
        const once = penv.podman(OCI, ["run", "--rm", IMAGE, "echo", "hello"]);
        expect(once).toMatchObject({ code: 0, stdout: "hello\n" });
        const started = penv.podman(OCI, ["run", "-d", IMAGE, "sleep", "60"]);
        expect(started.code).toBe(0);
        const id = started.stdout.trim();
        const unit = `libpod-${id}.scope`;
        expect(unitProperty(unit, "Unit", "ActiveState")).toBe('s "active"');
        const pid = penv.podman(OCI, ["inspect", "--format", "{{.State.Pid}}", id]).stdout.trim();
        expect(readFileSync(`${scopeDir(unit, "memory")}/cgroup.procs`, "utf8").split("\n")).toContain(pid);
        expect(penv.podman(OCI, ["rm", "-f", "-t", "0", id])).toMatchObject({ code: 0, stderr: "" });
        await until(() => unitObject(unit) === undefined);
      } finally {
        const { mounts } = penv.cleanup([OCI]);
        expect(mounts).toEqual([]);
      }
    });
  });
} else {
  describe("--systemd-cgroup without systemd as init", () => {
    test("is refused with one line naming the flag, leaving no state or cgroup", () => {
      const id = `sd${process.pid}`;
      const b = use(bundle({ args: ["/bin/true"] }));
      const before = existsSync("/sys/fs/cgroup/unified") ? readdirSync("/sys/fs/cgroup/unified") : [];
      const r = oci(b, ["--systemd-cgroup", "run", id]);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain("--systemd-cgroup needs systemd, which is not running on this host");
      expect(oci(b, ["list", "-q"]).stdout.trim()).toBe("");
      expect(existsSync(`/sys/fs/cgroup/memory${CGROUP_PARENT}/${id}`)).toBe(false);
      expect(existsSync("/sys/fs/cgroup/unified") ? readdirSync("/sys/fs/cgroup/unified") : []).toEqual(
        before,
      );
    });
  });
}
