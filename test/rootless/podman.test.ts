// Rootless podman (as an ordinary user with subordinate ids) with `--runtime leopard-oci`, beside
// the same scenario with runc: podman has made the user namespace with newuidmap/newgidmap and
// calls the runtime inside it, where the runtime is uid 0 without the host's privileges. Each
// scenario checks its own expected values and that both runtimes answer the same.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cannotRun, makeRootlessUser, OCI, PODMAN, type Result, type RootlessUser, RUNC } from "./harness.ts";

const why = cannotRun() ?? (PODMAN ? undefined : "podman is not installed");
const IMAGE = "localhost/leopard-rl-busybox:test";
let user: RootlessUser;

function podman(runtime: string, args: string[]): Result {
  return user.run([
    PODMAN ?? "podman",
    "--storage-driver",
    "vfs",
    "--cgroup-manager",
    "cgroupfs",
    "--events-backend",
    "file",
    "--runtime",
    runtime,
    ...args,
  ]);
}

beforeAll(() => {
  if (why) return;
  user = makeRootlessUser();
  writeFileSync(
    join(user.work, "containers.conf"),
    '[containers]\ndefault_ulimits = ["nofile=20000:20000"]\n[engine]\nevents_logger = "file"\n',
  );
  user.env["CONTAINERS_CONF"] = join(user.work, "containers.conf");
  const root = user.rootfs("image-rootfs");
  const tar = join(user.work, "rootfs.tar");
  const t = user.run(["tar", "-C", root, "-cf", tar, "."]);
  if (t.code !== 0) throw new Error(`tar failed: ${t.stderr}`);
  const imp = podman(RUNC, ["import", tar, IMAGE]);
  if (imp.code !== 0) throw new Error(`podman import failed: ${imp.stderr}`);
});

afterAll(() => {
  if (why) return;
  podman(RUNC, ["rm", "--all", "--force", "--time", "0"]);
  const left = user.cleanup();
  expect(left).toEqual([]);
});

const RUNTIMES = [
  ["runc", RUNC],
  ["leopard-oci", OCI],
] as const;

describe.skipIf(why !== undefined)("rootless podman", () => {
  const script = [
    "id -u",
    "hostname",
    "head -1 /proc/self/uid_map | tr -s ' ' | sed 's/^ //'",
    "echo written > /tmp/f && cat /tmp/f",
    "ls /dev/null /dev/zero /dev/urandom",
    "exit 7",
  ].join("; ");

  const runs = new Map<string, Result>();
  for (const [name, runtime] of RUNTIMES) {
    test(`run --rm with ${name}: root in the container is the user outside, a file in /tmp, the exit code`, () => {
      const r = podman(runtime, ["run", "--rm", "--hostname", "lprl", IMAGE, "sh", "-c", script]);
      runs.set(name, r);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(7);
      expect(r.stdout.split("\n")).toEqual([
        "0",
        "lprl",
        `0 ${user.uid} 1`,
        "written",
        "/dev/null",
        "/dev/urandom",
        "/dev/zero",
        "",
      ]);
    });
  }

  test("leopard-oci and runc print the same", () => {
    expect(runs.get("leopard-oci")?.stdout).toBe(runs.get("runc")?.stdout ?? "runc did not run");
  });

  for (const [name, runtime] of RUNTIMES) {
    test(`detached with ${name}: exec, stop and rm, nothing left`, () => {
      const id = `lprl-${name}`;
      const run = podman(runtime, ["run", "-d", "--name", id, IMAGE, "sleep", "1000"]);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      const exec = podman(runtime, ["exec", id, "sh", "-c", "id -u; cat /proc/1/cmdline | tr '\\0' ' '"]);
      expect(exec).toMatchObject({ code: 0, stdout: "0\nsleep 1000 " });
      const stop = podman(runtime, ["stop", "-t", "0", id]);
      expect(stop.code).toBe(0);
      const ps = podman(runtime, ["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
      expect(ps.stdout).toContain(`${id} Exited`);
      expect(podman(runtime, ["rm", id]).code).toBe(0);
      expect(podman(runtime, ["ps", "-a", "-q"]).stdout).toBe("");
    });
  }

  const userRuns = new Map<string, Result>();
  for (const [name, runtime] of RUNTIMES) {
    test(`--user, -e and -w with ${name}: a subordinate uid, the variable, the directory`, () => {
      const r = podman(runtime, [
        "run",
        "--rm",
        "--user",
        "1000:1000",
        "-e",
        "GREETING=hi",
        "-w",
        "/tmp",
        IMAGE,
        "sh",
        "-c",
        'id -u; id -g; echo "$GREETING"; pwd; touch f && ls -n f | tr -s " " | cut -d" " -f3,4',
      ]);
      userRuns.set(name, r);
      expect(r).toMatchObject({ code: 0, stderr: "", stdout: "1000\n1000\nhi\n/tmp\n1000 1000\n" });
    });
  }

  test("leopard-oci and runc agree with --user", () => {
    expect(userRuns.get("leopard-oci")?.stdout).toBe(userRuns.get("runc")?.stdout ?? "runc did not run");
  });

  for (const [name, runtime] of RUNTIMES) {
    test(`-p 127.0.0.1:PORT:80 with ${name}: podman's slirp4netns publishes the container's httpd`, async () => {
      const port = 20000 + Math.floor(Math.random() * 20000);
      const id = `lprl-web-${name}`;
      const run = podman(runtime, [
        "run",
        "-d",
        "--name",
        id,
        "-p",
        `127.0.0.1:${port}:80`,
        IMAGE,
        "sh",
        "-c",
        "echo served > /tmp/index.html && httpd -f -p 80 -h /tmp",
      ]);
      expect(run).toMatchObject({ code: 0, stderr: "" });
      try {
        let body = "";
        for (let i = 0; i < 100 && body === ""; i++) {
          body = await fetch(`http://127.0.0.1:${port}/`).then(
            (r) => r.text(),
            () => "",
          );
          if (body === "") await Bun.sleep(20);
        }
        expect(body).toBe("served\n");
      } finally {
        expect(podman(runtime, ["rm", "--force", "--time", "0", id]).code).toBe(0);
      }
    });
  }

  // src/serve/autostart.ts: podman calls its runtime in the user and mount namespaces its pause
  // process keeps, where no server of systemd's can serve; the first direct `start` there starts
  // one on that namespace's own socket, which serves the calls after it.
  test("leopard-oci's first start starts a server in podman's namespaces, which serves the next run", () => {
    const userns = podman(RUNC, ["unshare", "stat", "-L", "-c", "%i", "/proc/self/ns/user"]);
    expect(userns.code).toBe(0);
    const ino = userns.stdout.trim();
    expect(ino).toMatch(/^\d+$/);
    const socket = `${user.runtimeDir}/leopard-serve/userns-${ino}/leopard-oci.sock`;
    const keepers = () =>
      user
        .run(["pgrep", "-u", String(user.uid), "-f", `leopard-keeper leopard-oci .* ${socket} `])
        .stdout.split("\n")
        .filter(Boolean);
    const stopServers = () => {
      for (const pid of keepers()) user.run(["kill", pid]);
      for (let i = 0; i < 100 && keepers().length > 0; i++) Bun.sleepSync(50);
      expect(keepers()).toEqual([]);
    };
    const wrapper = (name: string, env: string) => {
      const path = join(user.work, name);
      writeFileSync(path, `#!/bin/sh\n${env} exec ${JSON.stringify(OCI)} "$@"\n`, { mode: 0o755 });
      return path;
    };
    // The runs above went through leopard-oci with nothing set: a server is there by now.
    stopServers();
    // LEOPARD_SERVE=0: never served, and no server started.
    const never = wrapper("oci-never-served", "LEOPARD_SERVE=0");
    expect(podman(never, ["run", "--rm", "--network", "none", IMAGE, "echo", "direct"])).toMatchObject({
      code: 0,
      stdout: "direct\n",
    });
    expect(keepers()).toEqual([]);
    // Nothing set: the start starts one, in podman's user namespace, on that namespace's socket.
    expect(podman(OCI, ["run", "--rm", "--network", "none", IMAGE, "echo", "first"])).toMatchObject({
      code: 0,
      stdout: "first\n",
    });
    for (let i = 0; i < 200 && keepers().length === 0; i++) Bun.sleepSync(50);
    const [keeper] = keepers();
    expect(keeper).toMatch(/^\d+$/);
    expect(user.run(["stat", "-L", "-c", "%i", `/proc/${keeper}/ns/user`]).stdout.trim()).toBe(ino);
    // LEOPARD_SERVE=1 with the default socket: every call of the next run is served (or it fails).
    const served = wrapper("oci-must-be-served", "LEOPARD_SERVE=1 LEOPARD_SERVE_WAIT_MS=30000");
    const r = podman(served, ["run", "--rm", "--network", "none", IMAGE, "sh", "-c", "echo served; exit 3"]);
    expect(r).toMatchObject({ code: 3, stdout: "served\n" });
    // One server: the run's own start found it and started none.
    expect(keepers()).toEqual([keeper!]);
    stopServers();
  });

  test("leopard-oci keeps its state under $XDG_RUNTIME_DIR/leopard and leaves none there", () => {
    const r = user.run(["ls", "-A", `${user.runtimeDir}/leopard`]);
    expect(r).toMatchObject({ code: 0, stdout: "" });
  });
});
