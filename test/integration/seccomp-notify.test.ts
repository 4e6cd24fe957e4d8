// SCMP_ACT_NOTIFY with linux.seccomp.listenerPath: a small seccomp agent (seccomp-agent.c) gets
// the listener of init's filter at create, and one more for each exec, each with the container
// process state; it answers mkdir as done (nothing is made) and rmdir with EXDEV. A listenerPath
// nobody listens on is refused in one line before anything of the container exists.
import { afterEach, describe, expect, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundle, CGROUP_PARENT, oci, readState, TOP, trackBundles, until } from "./harness.ts";

const use = trackBundles();
const runc = Bun.which("runc");
type Json = Record<string, unknown>;

const AGENT_SRC = join(TOP, "test/integration/seccomp-agent.c");
const AGENT = join(TOP, "build/seccomp-agent/seccomp-agent");
const EXDEV = 18;

/** Builds the agent when missing or older than its source. */
function agentBinary(): string {
  if (!existsSync(AGENT) || statSync(AGENT).mtimeMs < statSync(AGENT_SRC).mtimeMs) {
    mkdirSync(join(TOP, "build/seccomp-agent"), { recursive: true });
    const r = Bun.spawnSync(["cc", "-O1", "-Wall", "-o", `${AGENT}.tmp`, AGENT_SRC], { stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`building the seccomp agent failed: ${r.stderr.toString()}`);
    Bun.spawnSync(["mv", `${AGENT}.tmp`, AGENT]);
  }
  return AGENT;
}

interface Agent {
  socket: string;
  /** The states received so far, in order, with how many fds came with each. */
  received(): { receivedFds: number; state: Json }[];
}

const live: { proc: ReturnType<typeof Bun.spawn>; dir: string }[] = [];
afterEach(async () => {
  for (const a of live.splice(0)) {
    a.proc.kill("SIGKILL");
    await a.proc.exited;
    rmSync(a.dir, { recursive: true, force: true });
  }
});

/** Starts an agent on a fresh socket; it is stopped after the test. */
async function startAgent(): Promise<Agent> {
  const dir = mkdtempSync(join(tmpdir(), "leopard-agent-"));
  const socket = join(dir, "agent.sock");
  const log = join(dir, "states.jsonl");
  const proc = Bun.spawn([agentBinary(), socket, log, String(EXDEV)], {
    stdout: "inherit",
    stderr: "inherit",
  });
  live.push({ proc, dir });
  await until(() => existsSync(socket), 10_000, "the seccomp agent's socket");
  return {
    socket,
    received: () =>
      existsSync(log)
        ? readFileSync(log, "utf8")
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l) as { receivedFds: number; state: Json })
        : [],
  };
}

/** mkdir, mkdirat and rmdir go to the agent; everything else is allowed. */
function notifyProfile(listenerPath: string): Json {
  return {
    defaultAction: "SCMP_ACT_ALLOW",
    listenerPath,
    listenerMetadata: "leopard-test",
    syscalls: [{ names: ["mkdir", "mkdirat", "rmdir"], action: "SCMP_ACT_NOTIFY" }],
  };
}

// The last check: no fd of the shell is the seccomp listener. ls's errors go: the shell's pipe to
// grep is open while ls reads the directory and may be closed before ls reads its link (a race CI
// hit: "ls: /proc/1/fd/3: cannot read link").
const SCRIPT =
  "mkdir /tmp/made && echo mkdir: ok; [ -d /tmp/made ] && echo made: yes || echo made: no; rmdir /tmp 2>&1; ls -l /proc/$$/fd/ 2>/dev/null | grep -c seccomp; true";
const EXPECTED = "mkdir: ok\nmade: no\nrmdir: '/tmp': Invalid cross-device link\n0\n";

function notifyBundle(listenerPath: string, opts: { noNewPrivileges: boolean; args?: string[] }) {
  return bundle({
    args: opts.args ?? ["/bin/sh", "-c", SCRIPT],
    edit: (c) => {
      (c["linux"] as Json)["seccomp"] = notifyProfile(listenerPath);
      (c["process"] as Json)["noNewPrivileges"] = opts.noNewPrivileges;
      c["annotations"] = { "org.example.test": "notify" };
    },
  });
}

/** The container's cgroup directories under the tests' parent, in any hierarchy. */
function cgroupsOf(id: string): string[] {
  return readdirSync("/sys/fs/cgroup")
    .map((ctl) => `/sys/fs/cgroup/${ctl}${CGROUP_PARENT}/${id}`)
    .filter((d) => existsSync(d));
}

describe("seccomp SCMP_ACT_NOTIFY with listenerPath", () => {
  for (const noNewPrivileges of [true, false]) {
    test(`run: the agent answers the container's mkdir and rmdir, and got the listener with the state (noNewPrivileges ${noNewPrivileges})`, async () => {
      const agent = await startAgent();
      const b = use(notifyBundle(agent.socket, { noNewPrivileges }));
      const r = oci(b, ["run", "c1"]);
      expect(r).toEqual({ code: 0, stdout: EXPECTED, stderr: "" });
      const got = agent.received();
      expect(got).toHaveLength(1);
      const { receivedFds, state } = got[0]!;
      expect(receivedFds).toBe(1);
      expect(state).toMatchObject({
        ociVersion: expect.stringMatching(/^1\.\d+\.\d+$/),
        fds: ["seccompFd"],
        metadata: "leopard-test",
        state: {
          id: "c1",
          status: "creating",
          bundle: b.dir,
          annotations: { "org.example.test": "notify" },
        },
      });
      expect(state["pid"]).toBeGreaterThan(0);
      expect(state["pid"]).toBe((state["state"] as Json)["pid"]);
    });
  }

  test("exec: the exec'd process's filter has a listener of its own, sent with the running container's state", async () => {
    const agent = await startAgent();
    const b = use(notifyBundle(agent.socket, { noNewPrivileges: true, args: ["/bin/sleep", "60"] }));
    expect(oci(b, ["run", "-d", "c1"])).toMatchObject({ code: 0, stderr: "" });
    const init = readState(b, "c1")["pid"];
    const pidFile = join(b.dir, "exec.pid");
    const r = oci(b, ["exec", "--pid-file", pidFile, "c1", "/bin/sh", "-c", SCRIPT]);
    expect(r).toEqual({ code: 0, stdout: EXPECTED, stderr: "" });
    const got = agent.received();
    expect(got.map((g) => g.receivedFds)).toEqual([1, 1]);
    expect(got[0]?.state).toMatchObject({ pid: init, state: { status: "creating", pid: init } });
    expect(got[1]?.state).toMatchObject({
      fds: ["seccompFd"],
      pid: Number(readFileSync(pidFile, "utf8")),
      metadata: "leopard-test",
      state: { id: "c1", status: "running", pid: init, bundle: b.dir },
    });
    expect(got[1]?.state["pid"]).not.toBe(init);
    expect(oci(b, ["delete", "--force", "c1"]).code).toBe(0);
  });

  test("exec with the agent gone is refused in one line before the process starts", async () => {
    const agent = await startAgent();
    const b = use(notifyBundle(agent.socket, { noNewPrivileges: true, args: ["/bin/sleep", "60"] }));
    expect(oci(b, ["run", "-d", "c1"])).toMatchObject({ code: 0, stderr: "" });
    for (const a of live.splice(0)) {
      a.proc.kill("SIGKILL");
      await a.proc.exited;
      rmSync(a.dir, { recursive: true, force: true });
    }
    const r = oci(b, ["exec", "c1", "/bin/sh", "-c", "echo started"]);
    expect(r).toEqual({
      code: 1,
      stdout: "",
      stderr: `leopard-oci: exec c1: cannot connect to seccomp listenerPath "${agent.socket}": no such file or directory\n`,
    });
    expect(readState(b, "c1")["status"]).toBe("running");
    expect(oci(b, ["delete", "--force", "c1"]).code).toBe(0);
  });

  test("a missing listenerPath is refused in one line; no state, cgroup or mount is left behind", () => {
    const dir = mkdtempSync(join(tmpdir(), "leopard-agent-"));
    try {
      const missing = join(dir, "nobody.sock");
      const b = use(notifyBundle(missing, { noNewPrivileges: true }));
      const r = oci(b, ["run", "c1"]);
      expect(r).toEqual({
        code: 1,
        stdout: "",
        stderr: `leopard-oci: run c1: cannot connect to seccomp listenerPath "${missing}": no such file or directory\n`,
      });
      expect(cgroupsOf("c1")).toEqual([]);
      // (trackBundles checks that no state directory and no mount is left.)
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a listenerPath nobody listens on is refused in one line; nothing is left behind", () => {
    const dir = mkdtempSync(join(tmpdir(), "leopard-agent-"));
    try {
      const notASocket = join(dir, "agent.sock");
      writeFileSync(notASocket, "");
      const b = use(notifyBundle(notASocket, { noNewPrivileges: false }));
      const r = oci(b, ["create", "c1"]);
      expect(r).toEqual({
        code: 1,
        stdout: "",
        stderr: `leopard-oci: create c1: cannot connect to seccomp listenerPath "${notASocket}": connection refused\n`,
      });
      expect(cgroupsOf("c1")).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.skipIf(runc === null)(
    "runc with the same bundle and agent prints the same and sends the same state",
    async () => {
      const agent = await startAgent();
      const b = use(notifyBundle(agent.socket, { noNewPrivileges: true }));
      const config = JSON.parse(readFileSync(join(b.dir, "config.json"), "utf8")) as Json;
      (config["linux"] as Json)["cgroupsPath"] = `${CGROUP_PARENT}/runc-notify`;
      writeFileSync(join(b.dir, "config.json"), JSON.stringify(config));
      const runcRoot = join(b.dir, "runc-state");
      const r = Bun.spawnSync(
        [runc ?? "runc", "--root", runcRoot, "run", "-b", b.dir, `leopard-notify-${process.pid}`],
        {
          cwd: b.dir,
          stdout: "pipe",
          stderr: "pipe",
        },
      );
      rmSync(runcRoot, { recursive: true, force: true });
      expect(r.stderr.toString()).toBe("");
      expect(r.stdout.toString()).toBe(EXPECTED);
      const got = agent.received();
      expect(got.map((g) => g.receivedFds)).toEqual([1]);
      expect(got[0]?.state).toMatchObject({
        fds: ["seccompFd"],
        metadata: "leopard-test",
        state: { status: "creating", bundle: b.dir },
      });
      expect(Object.keys(got[0]?.state ?? {}).sort()).toEqual([
        "fds",
        "metadata",
        "ociVersion",
        "pid",
        "state",
      ]);
    },
  );

  test.skipIf(runc === null)(
    "runc, too, sends a second listener for an exec'd process, with status running",
    async () => {
      const agent = await startAgent();
      const b = use(notifyBundle(agent.socket, { noNewPrivileges: true, args: ["/bin/sleep", "60"] }));
      const config = JSON.parse(readFileSync(join(b.dir, "config.json"), "utf8")) as Json;
      (config["linux"] as Json)["cgroupsPath"] = `${CGROUP_PARENT}/runc-notify-exec`;
      writeFileSync(join(b.dir, "config.json"), JSON.stringify(config));
      const runcRoot = join(b.dir, "runc-state");
      const id = `leopard-notify-exec-${process.pid}`;
      const runcCmd = (args: string[], stdout: "pipe" | "ignore" = "pipe") =>
        Bun.spawnSync([runc ?? "runc", "--root", runcRoot, ...args], { cwd: b.dir, stdout, stderr: "pipe" });
      try {
        expect(runcCmd(["run", "-d", "-b", b.dir, id], "ignore").exitCode).toBe(0);
        const r = runcCmd(["exec", id, "/bin/sh", "-c", SCRIPT]);
        expect(r.stderr.toString()).toBe("");
        expect(r.stdout?.toString()).toBe(EXPECTED);
        const got = agent.received();
        expect(got.map((g) => g.receivedFds)).toEqual([1, 1]);
        expect(got[1]?.state).toMatchObject({ fds: ["seccompFd"], state: { status: "running" } });
      } finally {
        runcCmd(["delete", "--force", id]);
        rmSync(runcRoot, { recursive: true, force: true });
      }
    },
  );
});
