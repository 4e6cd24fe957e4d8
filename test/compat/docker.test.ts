// Docker (dockerd 20.10 from Debian, through its containerd and containerd-shim-runc-v2) with
// `--add-runtime leopard=bin/leopard-oci`, side by side with runc: each scenario runs under
// `--runtime runc` and `--runtime leopard`, must give the same result, and that result must be
// the scenario's own expected value (both failing alike is not a pass). The daemon, its
// containerd, data and cgroups are the test's own (test/compat/docker-env.ts), removed afterwards.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { OCI } from "../integration/harness.ts";
import { DOCKER, DOCKERD, type DockerEnv, IMAGE, makeDockerEnv } from "./docker-env.ts";

// Real containers under a real daemon on a busy machine: well past bun's default 5 s a test.
setDefaultTimeout(180_000);

const RUNC = Bun.which("runc");
const CGROUP_PARENT = `/leopard-test/docker-${process.pid}`;
type Runtime = "runc" | "leopard";
const LOOP = "trap 'exit 0' TERM; while true; do sleep 0.1; done";

let denv: DockerEnv | undefined;

function docker(args: string[], opts: { tty?: boolean } = {}) {
  if (!denv) throw new Error("docker environment not set up");
  return denv.docker(args, opts);
}

const run = (rt: Runtime, args: string[], opts: { tty?: boolean } = {}) =>
  docker(["run", "--rm", "--runtime", rt, ...args], opts);

/** A detached container of the runtime's own, removed after `body`. */
function detached<T>(rt: Runtime, flags: string[], body: (name: string) => T): T {
  const name = `d-${rt}`;
  const d = docker(["run", "-d", "--name", name, "--runtime", rt, ...flags, IMAGE, "sh", "-c", LOOP]);
  if (d.code !== 0) throw new Error(`docker run -d (${rt}) failed: ${d.stderr}`);
  try {
    return body(name);
  } finally {
    docker(["rm", "-f", name]);
  }
}

const table: string[][] = [];
/** Runs a scenario under both runtimes, records the row, expects runc's result and `expected`. */
function same(name: string, expected: string | RegExp, scenario: (rt: Runtime) => string): void {
  const runc = scenario("runc");
  const leopard = scenario("leopard");
  table.push([name, JSON.stringify(runc), JSON.stringify(leopard), runc === leopard ? "same" : "DIFFERENT"]);
  expect({ name, leopard }).toEqual({ name, leopard: runc });
  if (typeof expected === "string") expect({ name, runc }).toEqual({ name, runc: expected });
  else expect(runc).toMatch(expected);
}

describe.skipIf(!DOCKER || !DOCKERD || !RUNC)("docker run --runtime leopard, side by side with runc", () => {
  beforeAll(async () => {
    denv = await makeDockerEnv({ cgroupParent: CGROUP_PARENT, runtimes: { leopard: OCI } });
  });

  afterAll(async () => {
    if (!denv) return;
    const left = await denv.cleanup();
    const widths = [0, 1, 2, 3].map((i) => Math.min(40, Math.max(8, ...table.map((r) => r[i]?.length ?? 0))));
    const line = (r: string[]) => r.map((c, i) => c.slice(0, 40).padEnd(widths[i] ?? 8)).join("  ");
    process.stderr.write(
      `\n${line(["scenario", "runc", "leopard-oci", ""])}\n${table.map(line).join("\n")}\n`,
    );
    expect(left).toEqual({ mounts: [], cgroups: [], processes: [] });
  });

  test("run prints the output (blockIO.weight 0 on every create is unset) and propagates exit codes", () => {
    same("run echo", "0 hello\n", (rt) => {
      const r = run(rt, [IMAGE, "echo", "hello"]);
      return `${r.code} ${r.stdout}`;
    });
    same(
      "exit codes",
      "42 1",
      (rt) => `${run(rt, [IMAGE, "sh", "-c", "exit 42"]).code} ${run(rt, [IMAGE, "false"]).code}`,
    );
  });

  test("HOME comes from the container's /etc/passwd, for run and exec", () => {
    same("HOME for root, -u 1000, -u 4242", "/root /home /", (rt) =>
      ["0", "1000", "4242"]
        .map((u) => run(rt, ["-u", u, IMAGE, "sh", "-c", "echo $HOME"]).stdout.trim())
        .join(" "),
    );
    same("HOME with -e HOME=/data", "/data", (rt) =>
      run(rt, ["-e", "HOME=/data", IMAGE, "sh", "-c", "echo $HOME"]).stdout.trim(),
    );
    same("exec HOME", "/root /home", (rt) =>
      detached(rt, [], (n) =>
        ["0", "1000"]
          .map((u) => docker(["exec", "-u", u, n, "sh", "-c", "echo $HOME"]).stdout.trim())
          .join(" "),
      ),
    );
  });

  test("-d, exec, logs, stop, inspect and rm", () => {
    same("detached lifecycle", "exec: 3 in-exec\nlogs: started\nstop: 0\nstate: exited 0", (rt) => {
      const name = `l-${rt}`;
      const out: string[] = [];
      docker(["run", "-d", "--name", name, "--runtime", rt, IMAGE, "sh", "-c", `echo started; ${LOOP}`]);
      const e = docker(["exec", name, "sh", "-c", "echo in-exec; exit 3"]);
      out.push(`exec: ${e.code} ${e.stdout.trim()}`);
      out.push(`logs: ${docker(["logs", name]).stdout.trim()}`);
      out.push(`stop: ${docker(["stop", "-t", "5", name]).code}`);
      out.push(
        `state: ${docker(["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name]).stdout.trim()}`,
      );
      docker(["rm", "-f", name]);
      return out.join("\n");
    });
  });

  test("docker update --memory --cpus --pids-limit reaches the cgroup (update --resources - ID)", () => {
    same("update", "update 0; inside 67108864 50000 20; outside 67108864 50000 20", (rt) =>
      detached(rt, [], (n) => {
        const u = docker([
          "update",
          "--memory",
          "64m",
          "--memory-swap",
          "128m",
          "--cpus",
          "0.5",
          "--pids-limit",
          "20",
          n,
        ]);
        const files = ["memory/memory.limit_in_bytes", "cpu/cpu.cfs_quota_us", "pids/pids.max"];
        const inside = docker(["exec", n, "cat", ...files.map((f) => `/sys/fs/cgroup/${f}`)])
          .stdout.trim()
          .split("\n");
        const id = docker(["inspect", "-f", "{{.Id}}", n]).stdout.trim();
        const outside = files.map((f) => {
          const [ctl = "", file = ""] = f.split("/");
          try {
            return readFileSync(join("/sys/fs/cgroup", ctl, CGROUP_PARENT, id, file), "utf8").trim();
          } catch {
            return "none";
          }
        });
        return `update ${u.code}${u.code === 0 ? "" : ` ${u.stderr.trim()}`}; inside ${inside.join(" ")}; outside ${outside.join(" ")}`;
      }),
    );
  });

  test("--device with access r: the device cgroup has r only and a write open is refused", () => {
    // The first free loop device, attached to nothing: only opened, never read or written.
    const loop = Bun.spawnSync(["losetup", "-f"]).stdout.toString().trim();
    const rdev = Bun.spawnSync(["stat", "-c", "%t %T", loop]).stdout.toString().trim().split(" ");
    const [major, minor] = rdev.map((h) => Number.parseInt(h, 16));
    expect(loop).toMatch(/^\/dev\/loop\d+$/);
    same("--device …:r", `refused\nb ${major}:${minor} r`, (rt) =>
      run(rt, [
        "--device",
        `${loop}:/dev/lp:r`,
        IMAGE,
        "sh",
        "-c",
        `{ true >/dev/lp && echo writable || echo refused; } 2>/dev/null; grep '^b ${major}:${minor} ' /sys/fs/cgroup/devices/devices.list`,
      ]).stdout.trim(),
    );
  });

  test("docker exec gets the container's --oom-score-adj", () => {
    same("init and exec oom_score_adj", "500 500", (rt) =>
      detached(rt, ["--oom-score-adj", "500"], (n) =>
        ["/proc/1/oom_score_adj", "/proc/self/oom_score_adj"]
          .map((f) => docker(["exec", n, "cat", f]).stdout.trim())
          .join(" "),
      ),
    );
  });

  test("-t binds the pty on /dev/console", () => {
    same("-t /dev/console", "88 character special file\n/dev/pts/0", (rt) =>
      run(rt, ["-t", IMAGE, "sh", "-c", "stat -c '%t %F' /dev/console; tty"], { tty: true }).stdout.trim(),
    );
  });

  test("/proc's readonly paths keep nosuid,nodev,noexec", () => {
    const want = ["bus", "fs", "irq", "sys"]
      .map((p) => `/proc/${p} ro,nosuid,nodev,noexec,relatime`)
      .join("\n");
    same("/proc readonly paths", want, (rt) =>
      run(rt, [
        IMAGE,
        "sh",
        "-c",
        "grep -E ' /proc/(bus|fs|irq|sys) ' /proc/self/mountinfo | cut -d' ' -f5,6 | sort",
      ]).stdout.trim(),
    );
  });

  test("/sys/fs/cgroup: a writable tmpfs and the v1 hierarchies only, as runc mounts it", () => {
    same(
      "/sys/fs/cgroup layout",
      /^\/sys\/fs\/cgroup tmpfs rw,nosuid,nodev,noexec,relatime\n(\/sys\/fs\/cgroup\/\S+ cgroup ro,\S+\n?)+$/,
      (rt) =>
        run(rt, [
          IMAGE,
          "sh",
          "-c",
          "grep ' /sys/fs/cgroup' /proc/self/mountinfo | awk '{print $5, $(NF-2), $6}'",
        ]).stdout.trim(),
    );
  });

  test("a missing or non-executable command fails at create: docker exits 127 or 126 with the runtime's error, the container stays created", () => {
    const attempt = (rt: Runtime, cmd: string, extra: string[] = []) => {
      const name = `x-${rt}`;
      const r = docker(["run", "--name", name, "--runtime", rt, ...extra, IMAGE, cmd]);
      const state = docker(["inspect", "-f", "{{.State.Status}} {{.RestartCount}}", name]).stdout.trim();
      docker(["rm", "-f", name]);
      const said = /exec: "[^"]+": ([^:]+)/.exec(r.stderr)?.[1] ?? r.stderr.trim();
      return `${r.code} ${state} ${said}`;
    };
    same("missing command", "127 created 0 executable file not found in $PATH", (rt) =>
      attempt(rt, "nonexist"),
    );
    same("non-executable command", "126 created 0 permission denied", (rt) => attempt(rt, "/etc/passwd"));
    same("missing command, --restart always", "127 created 0 executable file not found in $PATH", (rt) =>
      attempt(rt, "nonexist", ["--restart", "always"]),
    );
  });
});
