// podman (through conmon) with leopard-oci as its runtime, side by side with runc: each scenario
// runs under both and must give the same result. Storage, run state, events and cgroups live in
// a temp dir and a cgroup parent of this test's own, removed afterwards.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { OCI } from "../integration/harness.ts";
import { IMAGE, makePodmanEnv, PODMAN, type PodmanEnv } from "./podman-env.ts";

// Real containers (and engines) on a busy machine: well past bun's default 5 s a test.
setDefaultTimeout(180_000);

const RUNC = Bun.which("runc");
const CGROUP_PARENT = `/leopard-compat-${process.pid}`;
const RUNTIMES = { runc: RUNC ?? "runc", leopard: OCI } as const;
type Runtime = keyof typeof RUNTIMES;

let penv: PodmanEnv | undefined;

function podman(runtime: Runtime, args: string[], opts: { tty?: boolean } = {}) {
  if (!penv) throw new Error("podman environment not set up");
  return penv.podman(RUNTIMES[runtime], args, opts);
}

const run = (rt: Runtime, args: string[], opts: { tty?: boolean } = {}) =>
  podman(rt, ["run", "--rm", "--cgroup-parent", CGROUP_PARENT, ...args], opts);

const table: string[][] = [];
/**
 * Runs a scenario under both runtimes, records the row, and expects runc's result to be the
 * scenario's own expected value (so two failures never pass as "the same") and leopard's to be
 * runc's.
 */
function same(name: string, expected: string | RegExp, scenario: (rt: Runtime) => string): string {
  const runc = scenario("runc");
  const leopard = scenario("leopard");
  table.push([name, JSON.stringify(runc), JSON.stringify(leopard), runc === leopard ? "same" : "DIFFERENT"]);
  if (typeof expected === "string") expect({ name, runc }).toEqual({ name, runc: expected });
  else expect({ name, runc }).toEqual({ name, runc: expect.stringMatching(expected) });
  expect({ name, leopard }).toEqual({ name, leopard: runc });
  return leopard;
}

describe.skipIf(!PODMAN || !RUNC)("podman with --runtime leopard-oci, side by side with runc", () => {
  beforeAll(() => {
    penv = makePodmanEnv({ cgroupParent: CGROUP_PARENT });
  });

  afterAll(() => {
    if (!penv) return;
    const { mounts, cgroups } = penv.cleanup([RUNTIMES.runc, RUNTIMES.leopard]);
    const widths = [0, 1, 2, 3].map((i) => Math.min(40, Math.max(8, ...table.map((r) => r[i]?.length ?? 0))));
    const line = (r: string[]) => r.map((c, i) => c.slice(0, 40).padEnd(widths[i] ?? 8)).join("  ");
    process.stderr.write(
      `\n${line(["scenario", "runc", "leopard-oci", ""])}\n${table.map(line).join("\n")}\n`,
    );
    expect(mounts).toEqual([]);
    expect(cgroups).toEqual([]);
  });

  test("run --rm prints the output and propagates the exit code", () => {
    same("run --rm echo", JSON.stringify("hello\n"), (rt) =>
      JSON.stringify(run(rt, [IMAGE, "echo", "hello"]).stdout),
    );
    same("exit code", "42", (rt) => String(run(rt, [IMAGE, "sh", "-c", "exit 42"]).code));
  });

  test("env, --hostname and --user reach the process", () => {
    same(
      "env + hostname",
      "bar\nh1\n",
      (rt) => run(rt, ["-e", "FOO=bar", "--hostname", "h1", IMAGE, "sh", "-c", "echo $FOO; hostname"]).stdout,
    );
    same(
      "--user 1000:1000",
      /^uid=1000(\(\w+\))? gid=1000(\(\w+\))? /,
      (rt) => run(rt, ["--user", "1000:1000", IMAGE, "id"]).stdout,
    );
  });

  test("run -t gives the process a terminal", () => {
    same(
      "run -t",
      /^\/dev\/pts\/\d+\r?\nok\r?\n$/,
      (rt) => run(rt, ["-t", IMAGE, "sh", "-c", "tty; echo ok"], { tty: true }).stdout,
    );
  });

  test("-d, then exec with and without -t, ps, logs, stop and rm", () => {
    same(
      "detached lifecycle",
      "run -d: 0\nexec: 3 in-exec\n0\nexec -t: 0 /dev/pts/N\nps: d1 Up\nlogs: started\nstop: 0\nstate: exited 0\nrm: 0",
      (rt) => {
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
      },
    );
  });

  test("pause and unpause, --memory and --pids-limit", () => {
    same("pause/unpause", "0 0 0 0 paused running", (rt) => {
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
    same("--memory 64m", String(64 * 1024 * 1024), (rt) =>
      limit(rt, "--memory=64m", "memory/memory.limit_in_bytes"),
    );
    same("--pids-limit 42", "42", (rt) => limit(rt, "--pids-limit=42", "pids/pids.max"));
  });
  test("--read-only keeps the root read-only and /tmp writable", () => {
    same(
      "--read-only",
      /Read-only file system\n(.*\n)?tmp-ok\n$/,
      (rt) =>
        run(rt, ["--read-only", IMAGE, "sh", "-c", "touch /x 2>&1; touch /tmp/y && echo tmp-ok"]).stdout,
    );
  });
});
