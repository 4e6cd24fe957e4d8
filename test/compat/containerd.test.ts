// containerd (containerd-shim-runc-v2 with --runc-binary) with leopard-oci, side by side with
// runc. The test starts its own containerd with its own config, root, state and sockets in a temp
// dir, and stops it afterwards.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { mountsMentioning, OCI, rootfs } from "../integration/harness.ts";
import { removeCgroups as removeCgroupParent } from "./podman-env.ts";

// Real containers (and engines) on a busy machine: well past bun's default 5 s a test.
setDefaultTimeout(120_000);

const CONTAINERD = Bun.which("containerd");
const CTR = Bun.which("ctr");
const RUNC = Bun.which("runc");
const NS = `leopard-test-${process.pid}`;
const RUNTIMES = { runc: RUNC ?? "runc", leopard: OCI } as const;
type Runtime = keyof typeof RUNTIMES;

let dir = "";
let daemon: Subprocess | undefined;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function ctr(args: string[], opts: { tty?: boolean } = {}): Result {
  const argv = [CTR ?? "ctr", "--address", join(dir, "containerd.sock"), "--namespace", NS, ...args];
  // ctr run -t needs its own stdin to be a terminal.
  const cmd = opts.tty
    ? ["script", "-qec", argv.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" "), "/dev/null"]
    : argv;
  const r = Bun.spawnSync(cmd, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const clean = (s: string) => s.replaceAll("\r", "").replaceAll("^@", "");
  return { code: r.exitCode ?? -1, stdout: clean(r.stdout.toString()), stderr: r.stderr.toString() };
}

/** `ctr run` flags that put the runtime (and its --root) under this test. */
const runtimeFlags = (rt: Runtime) => ["--runc-binary", RUNTIMES[rt], "--runc-root", join(dir, `runc-${rt}`)];

/** ctr's containers go to the cgroup /<namespace>/<id>; the runtimes leave /<namespace> behind. */
function removeCgroups(): string[] {
  const left: string[] = [];
  // Anything still running there is a leak this test made: it is killed, and reported below.
  const procs = join("/sys/fs/cgroup/pids", NS);
  if (existsSync(procs)) {
    for (const d of readdirSync(procs, { withFileTypes: true }).filter((e) => e.isDirectory())) {
      for (const pid of readFileSync(join(procs, d.name, "cgroup.procs"), "utf8")
        .split("\n")
        .filter(Boolean)) {
        left.push(`process ${pid} in ${d.name}`);
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {}
      }
    }
    Bun.sleepSync(200);
  }
  left.push(...removeCgroupParent(NS));
  return left;
}

const table: string[][] = [];
function same(name: string, scenario: (rt: Runtime) => string): void {
  const runc = scenario("runc");
  const leopard = scenario("leopard");
  table.push([name, JSON.stringify(runc), JSON.stringify(leopard), runc === leopard ? "same" : "DIFFERENT"]);
  expect({ name, leopard }).toEqual({ name, leopard: runc });
}

describe.skipIf(!CONTAINERD || !CTR || !RUNC)(
  "containerd with --runc-binary leopard-oci, side by side with runc",
  () => {
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "leopard-containerd-"));
      const config = join(dir, "config.toml");
      writeFileSync(
        config,
        [
          "version = 2",
          `root = "${dir}/root"`,
          `state = "${dir}/state"`,
          'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
          "[grpc]",
          `  address = "${dir}/containerd.sock"`,
          "[ttrpc]",
          `  address = "${dir}/containerd-ttrpc.sock"`,
          "[debug]",
          '  address = ""',
          "[metrics]",
          '  address = ""',
          "",
        ].join("\n"),
      );
      daemon = Bun.spawn([CONTAINERD ?? "containerd", "--config", config], {
        stdout: Bun.file(join(dir, "containerd.log")),
        stderr: Bun.file(join(dir, "containerd.log")),
      });
      const end = Date.now() + 20_000;
      while (!existsSync(join(dir, "containerd.sock")) || ctr(["version"]).code !== 0) {
        if (Date.now() > end) throw new Error("containerd did not start");
        await Bun.sleep(50);
      }
    });

    afterAll(async () => {
      if (!dir) return;
      for (const id of ctr(["task", "ls", "-q"]).stdout.split("\n").filter(Boolean)) {
        ctr(["task", "kill", "-s", "KILL", id]);
        await Bun.sleep(200);
        ctr(["task", "delete", id]);
      }
      for (const id of ctr(["container", "ls", "-q"]).stdout.split("\n").filter(Boolean))
        ctr(["container", "delete", id]);
      ctr(["namespace", "remove", NS]);
      daemon?.kill("SIGTERM");
      await daemon?.exited;
      const mounts = mountsMentioning(dir);
      rmSync(dir, { recursive: true, force: true });
      const cgroups = removeCgroups();
      const widths = [0, 1, 2, 3].map((i) =>
        Math.min(40, Math.max(8, ...table.map((r) => r[i]?.length ?? 0))),
      );
      const line = (r: string[]) => r.map((c, i) => c.slice(0, 40).padEnd(widths[i] ?? 8)).join("  ");
      process.stderr.write(
        `\n${line(["scenario", "runc", "leopard-oci", ""])}\n${table.map(line).join("\n")}\n`,
      );
      expect(mounts).toEqual([]);
      expect(cgroups).toEqual([]);
    });

    test("run --rm prints the output and propagates the exit code", () => {
      const rf = rootfs(0);
      same("ctr run --rm", (rt) => {
        const r = ctr(["run", "--rm", "--rootfs", ...runtimeFlags(rt), rf, `c-${rt}`, "/bin/echo", "hello"]);
        return `${r.code} ${r.stdout}`;
      });
      same("exit code", (rt) =>
        String(
          ctr(["run", "--rm", "--rootfs", ...runtimeFlags(rt), rf, `c-${rt}`, "/bin/sh", "-c", "exit 7"])
            .code,
        ),
      );
    });

    test("run -t gives the process a terminal", () => {
      const rf = rootfs(0);
      same("ctr run -t", (rt) => {
        const r = ctr(
          [
            "run",
            "--rm",
            "-t",
            "--rootfs",
            ...runtimeFlags(rt),
            rf,
            `t-${rt}`,
            "/bin/sh",
            "-c",
            "tty; echo ok",
          ],
          {
            tty: true,
          },
        );
        return `${r.code} ${r.stdout}`;
      });
    });

    test("-d, then task exec (with and without -t), task ps, task kill and delete", async () => {
      const rf = rootfs(0);
      for (const rt of ["runc", "leopard"] as const) {
        const id = `d-${rt}`;
        const out: string[] = [];
        const loop = "trap 'exit 0' TERM; while true; do sleep 0.1; done";
        out.push(
          `run -d: ${ctr(["run", "-d", "--rootfs", ...runtimeFlags(rt), rf, id, "/bin/sh", "-c", loop]).code}`,
        );
        const e = ctr(["task", "exec", "--exec-id", "e1", id, "/bin/sh", "-c", "echo in-exec; exit 4"]);
        out.push(`exec: ${e.code} ${e.stdout.trim()}`);
        const et = ctr(["task", "exec", "-t", "--exec-id", "e2", id, "/bin/sh", "-c", "tty; sleep 0.5"], {
          tty: true,
        });
        // ctr resizes the pty once the process runs: it must still run then (hence the sleep).
        out.push(`exec -t: ${et.stdout.trim().replace(/\d+$/, "N")}`);
        const ps = ctr(["task", "ps", id]).stdout.trim().split("\n");
        out.push(`ps: ${ps.length >= 2}`);
        const init = Number(ctr(["task", "ls"]).stdout.split("\n")[1]?.split(/\s+/)[1]);
        out.push(`kill: ${ctr(["task", "kill", id]).code}`);
        const end = Date.now() + 10_000;
        while (!ctr(["task", "ls"]).stdout.includes("STOPPED") && Date.now() < end) await Bun.sleep(50);
        out.push(`task: ${ctr(["task", "ls"]).stdout.split("\n")[1]?.split(/\s+/)[2] ?? ""}`);
        out.push(`task delete: ${ctr(["task", "delete", id]).code}`);
        out.push(`container delete: ${ctr(["container", "delete", id]).code}`);
        out.push(`init gone: ${init > 0 && !existsSync(`/proc/${init}/cmdline`)}`);
        table.push([`detached lifecycle (${rt})`, out.join("; "), "", ""]);
        expect(out).toEqual([
          "run -d: 0",
          "exec: 4 in-exec",
          "exec -t: /dev/pts/N",
          "ps: true",
          "kill: 0",
          "task: STOPPED",
          "task delete: 0",
          "container delete: 0",
          "init gone: true",
        ]);
      }
    });
  },
);
