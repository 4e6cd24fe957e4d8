// podman (through conmon) with leopard-oci as its runtime, side by side with runc: each scenario
// runs under both and must give the same result. Storage, run state, events and cgroups live in
// a temp dir and a cgroup parent of this test's own, removed afterwards.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mountsMentioning, OCI, rootfs } from "../integration/harness.ts";

// Real containers (and engines) on a busy machine: well past bun's default 5 s a test.
setDefaultTimeout(180_000);

const PODMAN = Bun.which("podman");
const RUNC = Bun.which("runc");
const IMAGE = "localhost/leopard-busybox:test";
const CGROUP_PARENT = `/leopard-compat-${process.pid}`;
const RUNTIMES = { runc: RUNC ?? "runc", leopard: OCI } as const;
type Runtime = keyof typeof RUNTIMES;

let dir = "";
let env: Record<string, string> = {};

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function podman(runtime: Runtime, args: string[], opts: { tty?: boolean } = {}): Result {
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
    RUNTIMES[runtime],
    ...args,
  ];
  // A terminal of its own for -t: script(1), as a person's shell would give.
  const cmd = opts.tty
    ? ["script", "-qec", argv.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" "), "/dev/null"]
    : argv;
  const r = Bun.spawnSync(cmd, { env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const clean = (s: string) => s.replaceAll("\r", "").replaceAll("^@", "");
  return { code: r.exitCode ?? -1, stdout: clean(r.stdout.toString()), stderr: r.stderr.toString() };
}

const run = (rt: Runtime, args: string[], opts: { tty?: boolean } = {}) =>
  podman(rt, ["run", "--rm", "--cgroup-parent", CGROUP_PARENT, ...args], opts);

/** Removes this test's cgroup parent in every hierarchy, deepest first (only empty ones go). */
function removeCgroups(): string[] {
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
    const d = join("/sys/fs/cgroup", h, CGROUP_PARENT);
    if (existsSync(d) && statSync(d).isDirectory()) walk(d);
  }
  return left;
}

const table: string[][] = [];
/** Runs a scenario under both runtimes, records the row, and expects the same result. */
function same(name: string, scenario: (rt: Runtime) => string): string {
  const runc = scenario("runc");
  const leopard = scenario("leopard");
  table.push([name, JSON.stringify(runc), JSON.stringify(leopard), runc === leopard ? "same" : "DIFFERENT"]);
  expect({ name, leopard }).toEqual({ name, leopard: runc });
  return leopard;
}

describe.skipIf(!PODMAN || !RUNC)("podman with --runtime leopard-oci, side by side with runc", () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "leopard-podman-"));
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
    env = { ...(process.env as Record<string, string>), CONTAINERS_CONF: join(dir, "containers.conf") };
    const tar = join(dir, "rootfs.tar");
    const t = Bun.spawnSync(["tar", "-C", rootfs(0), "-cf", tar, "."]);
    expect(t.exitCode).toBe(0);
    const imp = podman("leopard", ["import", tar, IMAGE]);
    expect(imp.stderr).not.toContain("Error");
    expect(imp.code).toBe(0);
  });

  afterAll(() => {
    if (!dir) return;
    for (const rt of ["runc", "leopard"] as const) podman(rt, ["rm", "--all", "--force", "--time", "0"]);
    podman("leopard", ["system", "reset", "--force"]);
    const mounts = mountsMentioning(dir);
    rmSync(dir, { recursive: true, force: true });
    const cgroups = removeCgroups();
    const widths = [0, 1, 2, 3].map((i) => Math.min(40, Math.max(8, ...table.map((r) => r[i]?.length ?? 0))));
    const line = (r: string[]) => r.map((c, i) => c.slice(0, 40).padEnd(widths[i] ?? 8)).join("  ");
    process.stderr.write(
      `\n${line(["scenario", "runc", "leopard-oci", ""])}\n${table.map(line).join("\n")}\n`,
    );
    expect(mounts).toEqual([]);
    expect(cgroups).toEqual([]);
  });

  test("run --rm prints the output and propagates the exit code", () => {
    same("run --rm echo", (rt) => JSON.stringify(run(rt, [IMAGE, "echo", "hello"]).stdout));
    same("exit code", (rt) => String(run(rt, [IMAGE, "sh", "-c", "exit 42"]).code));
  });

  test("env, --hostname and --user reach the process", () => {
    same(
      "env + hostname",
      (rt) => run(rt, ["-e", "FOO=bar", "--hostname", "h1", IMAGE, "sh", "-c", "echo $FOO; hostname"]).stdout,
    );
    same("--user 1000:1000", (rt) => run(rt, ["--user", "1000:1000", IMAGE, "id"]).stdout);
  });

  test("run -t gives the process a terminal", () => {
    same("run -t", (rt) => run(rt, ["-t", IMAGE, "sh", "-c", "tty; echo ok"], { tty: true }).stdout);
  });

  test("-d, then exec with and without -t, ps, logs, stop and rm", () => {
    same("detached lifecycle", (rt) => {
      const name = "d1"; // one runtime after the other, removed in between
      const out: string[] = [];
      const d = podman(rt, [
        "run",
        "-d",
        "--name",
        name,
        "--cgroup-parent",
        CGROUP_PARENT,
        IMAGE,
        "sh",
        "-c",
        "echo started; trap 'exit 0' TERM; while true; do sleep 0.1; done",
      ]);
      out.push(`run -d: ${d.code}`);
      const e = podman(rt, ["exec", name, "sh", "-c", "echo in-exec; id -u; exit 3"]);
      out.push(`exec: ${e.code} ${e.stdout.trim()}`);
      const et = podman(rt, ["exec", "-t", name, "tty"], { tty: true });
      out.push(`exec -t: ${et.code} ${et.stdout.trim().replace(/\d+$/, "N")}`);
      const ps = podman(rt, ["ps", "--filter", `name=${name}`, "--format", "{{.Names}} {{.Status}}"]);
      out.push(`ps: ${ps.stdout.trim().replace(/Up .*/, "Up")}`);
      out.push(`logs: ${podman(rt, ["logs", name]).stdout.trim()}`);
      out.push(`stop: ${podman(rt, ["stop", "--time", "5", name]).code}`);
      const st = podman(rt, ["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name]);
      out.push(`state: ${st.stdout.trim()}`);
      out.push(`rm: ${podman(rt, ["rm", name]).code}`);
      return out.join("\n");
    });
  });

  test("pause and unpause, --memory and --pids-limit", () => {
    same("pause/unpause", (rt) => {
      const loop = "trap 'exit 0' TERM; while true; do sleep 0.1; done";
      const out = [
        podman(rt, ["run", "-d", "--name", "p1", "--cgroup-parent", CGROUP_PARENT, IMAGE, "sh", "-c", loop])
          .code,
      ];
      const status = () => podman(rt, ["inspect", "--format", "{{.State.Status}}", "p1"]).stdout.trim();
      out.push(podman(rt, ["pause", "p1"]).code);
      const paused = status();
      out.push(podman(rt, ["unpause", "p1"]).code);
      const resumed = status();
      out.push(podman(rt, ["rm", "--force", "--time", "0", "p1"]).code);
      return `${out.join(" ")} ${paused} ${resumed}`;
    });
    // The limits as the kernel holds them, read on the host in the container's cgroup. (Inside,
    // runc binds the container's own cgroup directories over /sys/fs/cgroup when there is no
    // cgroup namespace; leopard binds the host's whole tree: the one difference found here.)
    const limit = (rt: Runtime, flag: string, file: string) => {
      const loop = "trap 'exit 0' TERM; while true; do sleep 0.1; done";
      podman(rt, [
        "run",
        "-d",
        "--name",
        "l1",
        flag,
        "--cgroup-parent",
        CGROUP_PARENT,
        IMAGE,
        "sh",
        "-c",
        loop,
      ]);
      const path = podman(rt, ["inspect", "--format", "{{.State.CgroupPath}}", "l1"]).stdout.trim();
      let value = "none";
      try {
        value = readFileSync(
          join("/sys/fs/cgroup", file.split("/")[0] ?? "", path, file.split("/")[1] ?? ""),
          "utf8",
        );
      } catch {}
      podman(rt, ["rm", "--force", "--time", "0", "l1"]);
      return value.trim();
    };
    same("--memory 64m", (rt) => limit(rt, "--memory=64m", "memory/memory.limit_in_bytes"));
    same("--pids-limit 42", (rt) => limit(rt, "--pids-limit=42", "pids/pids.max"));
  });
  test("--read-only keeps the root read-only and /tmp writable", () => {
    same(
      "--read-only",
      (rt) =>
        run(rt, ["--read-only", IMAGE, "sh", "-c", "touch /x 2>&1; touch /tmp/y && echo tmp-ok"]).stdout,
    );
  });
});
