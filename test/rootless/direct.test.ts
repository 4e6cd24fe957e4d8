// leopard-oci called directly by an ordinary user, with the bundle `leopard-oci spec --rootless`
// writes (one-id maps, as `runc spec --rootless`): the same config run by runc as the same user
// is the reference. Bad inputs a rootless runtime cannot honour are refused in one line, as runc
// refuses them, and leave nothing in the state directory.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  cannotRun,
  makeRootlessUser,
  OCI,
  oneLine,
  type Result,
  type RootlessUser,
  RUNC,
} from "./harness.ts";

const why = cannotRun();
let user: RootlessUser;
let bundle: string;
type Json = Record<string, unknown>;

beforeAll(() => {
  if (why) return;
  user = makeRootlessUser();
  bundle = join(user.work, "bundle");
  user.run(["mkdir", bundle]);
  user.rootfs("bundle/rootfs");
  const spec = user.run([OCI, "spec", "--rootless"], { cwd: bundle });
  if (spec.code !== 0) throw new Error(`spec --rootless failed: ${spec.stderr}`);
});

afterAll(() => {
  if (why) return;
  const left = user.cleanup();
  expect(left).toEqual([]);
});

/** The bundle's config.json from `spec --rootless`, edited, written as a config of its own name. */
function config(edit: (c: Json) => void): Json {
  const c = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8")) as Json;
  (c["process"] as Json)["terminal"] = false;
  edit(c);
  return c;
}

/** Runs `run ID` with the config in a bundle of its own (same rootfs), by the given runtime, as the user. */
function run(runtime: string, id: string, c: Json, extra: string[] = []): Result {
  const dir = join(user.work, `b-${id}`);
  user.run(["mkdir", "-p", dir]);
  const conf = { ...c, root: { ...(c["root"] as Json), path: join(bundle, "rootfs") } };
  writeFileSync(join(dir, "config.json"), JSON.stringify(conf));
  const r = user.run([runtime, ...extra, "run", id], { cwd: dir });
  user.run([runtime, "delete", "--force", id], { cwd: dir });
  return r;
}

const linux = (c: Json): Json => c["linux"] as Json;
const proc = (c: Json): Json => c["process"] as Json;
const stateDir = (): Result => user.run(["ls", "-A", `${user.runtimeDir}/leopard`]);

describe.skipIf(why !== undefined)("leopard-oci as an ordinary user", () => {
  test("spec --rootless maps root to the user alone and has no network namespace, as runc's", () => {
    const c = config(() => {});
    expect(linux(c)["uidMappings"]).toEqual([{ containerID: 0, hostID: user.uid, size: 1 }]);
    expect(linux(c)["gidMappings"]).toEqual([{ containerID: 0, hostID: user.gid, size: 1 }]);
    const ns = (linux(c)["namespaces"] as Json[]).map((n) => n["type"]);
    expect(ns).toContain("user");
    expect(ns).not.toContain("network");
  });

  const script = "id; cat /proc/self/uid_map | tr -s ' '; hostname; ls /dev/null /dev/tty; exit 5";
  const out = new Map<string, Result>();
  for (const [name, runtime] of [
    ["runc", RUNC],
    ["leopard-oci", OCI],
  ] as const) {
    test(`run with ${name}: root inside, the user outside, the exit code`, () => {
      const r = run(
        runtime,
        `d-${name}`,
        config((c) => {
          proc(c)["args"] = ["sh", "-c", script];
        }),
      );
      out.set(name, r);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(5);
      expect(r.stdout).toBe(
        `uid=0(root) gid=0(root) groups=0(root)\n 0 ${user.uid} 1\nrunc\n/dev/null\n/dev/tty\n`,
      );
    });
  }

  test("leopard-oci and runc print the same", () => {
    expect(out.get("leopard-oci")?.stdout).toBe(out.get("runc")?.stdout ?? "runc did not run");
  });

  test("state lives under $XDG_RUNTIME_DIR/leopard: create, start, state, exec, kill, delete", () => {
    const dir = join(user.work, "b-life");
    user.run(["mkdir", "-p", dir]);
    const c = config((x) => {
      proc(x)["args"] = ["sleep", "1000"];
    });
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...c, root: { path: join(bundle, "rootfs") } }));
    const oci = (...a: string[]) => user.run([OCI, ...a], { cwd: dir });
    expect(oci("create", "life").code).toBe(0);
    expect(stateDir().stdout).toBe("life\n");
    expect(oci("start", "life").code).toBe(0);
    expect(JSON.parse(oci("state", "life").stdout)).toMatchObject({
      id: "life",
      status: "running",
      owner: user.name,
    });
    expect(oci("list", "-q").stdout).toBe("life\n");
    expect(oci("list").stdout).toContain(` running `);
    expect(oci("list").stdout.trim().split(/\s+/).at(-1)).toBe(user.name);
    expect(oci("exec", "life", "id", "-u")).toMatchObject({ code: 0, stdout: "0\n" });
    expect(oci("kill", "life", "KILL").code).toBe(0);
    for (let i = 0; i < 100 && JSON.parse(oci("state", "life").stdout)["status"] !== "stopped"; i++)
      Bun.sleepSync(20);
    expect(oci("delete", "life").code).toBe(0);
    expect(stateDir().stdout).toBe("");
  });

  test("delete --force of a created container: its init (not yet exec'd, so not dumpable: its namespace link is root's) is killed and the state removed", () => {
    const dir = join(user.work, "b-created");
    user.run(["mkdir", "-p", dir]);
    const c = config((x) => {
      proc(x)["args"] = ["sleep", "1000"];
    });
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...c, root: { path: join(bundle, "rootfs") } }));
    const oci = (...a: string[]) => user.run([OCI, ...a], { cwd: dir });
    expect(oci("create", "created").code).toBe(0);
    const pid = JSON.parse(oci("state", "created").stdout)["pid"] as number;
    expect(user.run(["readlink", `/proc/${pid}/ns/pid`]).code).not.toBe(0);
    expect(oci("delete", "--force", "created")).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(stateDir().stdout).toBe("");
    // Killed: gone, or a zombie until whoever adopted it reaps it.
    const stat = user.run(["cat", `/proc/${pid}/stat`]).stdout;
    expect(stat === "" || stat.split(") ")[1]?.startsWith("Z")).toBe(true);
  });

  test("a map of the user's subordinate ids is written by newuidmap/newgidmap", () => {
    const maps = [
      { containerID: 0, hostID: user.uid, size: 1 },
      { containerID: 1, hostID: user.sub.start, size: 1000 },
    ];
    const gmaps = [
      { containerID: 0, hostID: user.gid, size: 1 },
      { containerID: 1, hostID: user.sub.start, size: 1000 },
    ];
    const c = config((x) => {
      linux(x)["uidMappings"] = maps;
      linux(x)["gidMappings"] = gmaps;
      proc(x)["args"] = ["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map | tr -s ' '"];
    });
    const want = ` 0 ${user.uid} 1\n 1 ${user.sub.start} 1000\n 0 ${user.gid} 1\n 1 ${user.sub.start} 1000\n`;
    const mine = run(OCI, "sub", c);
    expect(mine).toMatchObject({ code: 0, stdout: want, stderr: "" });
    expect(run(RUNC, "sub-runc", c).stdout).toBe(want);
  });

  // Each: what is wrong, the edit, the one line leopard-oci prints; runc refuses the same config.
  const bad: [string, (c: Json) => void, RegExp][] = [
    [
      "a memory limit without a cgroup the user may write",
      (c) => {
        linux(c)["resources"] = { memory: { limit: 67108864 } };
      },
      /cannot set linux\.resources\.memory: a rootless container could not make its cgroup/,
    ],
    [
      "a pids limit",
      (c) => {
        linux(c)["resources"] = { pids: { limit: 10 } };
      },
      /cannot set linux\.resources\.pids/,
    ],
    [
      "a cgroupsPath the user cannot make",
      (c) => {
        linux(c)["cgroupsPath"] = `/leopard-test/rl-${process.pid}`;
      },
      /creating cgroup ".*leopard-test.*": permission denied/,
    ],
    [
      "a lower oom_score_adj",
      (c) => {
        proc(c)["oomScoreAdj"] = -500;
      },
      /process\.oomScoreAdj -500 is below the caller's/,
    ],
    [
      "a hard rlimit above the caller's",
      (c) => {
        proc(c)["rlimits"] = [{ type: "RLIMIT_NOFILE", hard: 1 << 30, soft: 1024 }];
      },
      /process\.rlimits RLIMIT_NOFILE hard 1073741824 is above the caller's/,
    ],
    [
      "supplementary groups",
      (c) => {
        (proc(c)["user"] as Json)["additionalGids"] = [0];
      },
      /process\.user\.additionalGids: a rootless container whose gid map is the user.s own gid alone cannot set supplementary groups/,
    ],
    [
      "no user namespace",
      (c) => {
        linux(c)["namespaces"] = (linux(c)["namespaces"] as Json[]).filter((n) => n["type"] !== "user");
        delete linux(c)["uidMappings"];
        delete linux(c)["gidMappings"];
      },
      /a rootless container needs a user namespace/,
    ],
    [
      "a block device's filesystem",
      (c) => (c["mounts"] as Json[]).push({ destination: "/mnt", type: "ext4", source: "/dev/vda" }),
      /mount "\/mnt" of type "ext4": a rootless container can only mount/,
    ],
    [
      "subordinate ids the user does not have",
      (c) => {
        linux(c)["uidMappings"] = [
          { containerID: 0, hostID: user.uid, size: 1 },
          { containerID: 1, hostID: 400_000_000, size: 10 },
        ];
      },
      /newuidmap refused the map .*: .*\/etc\/subuid/,
    ],
    [
      "a sysctl outside the container's namespaces",
      (c) => {
        linux(c)["sysctl"] = { "net.ipv4.ip_forward": "1" };
      },
      /linux\.sysctl\["net\.ipv4\.ip_forward"\] needs a network namespace/,
    ],
  ];
  test.each(bad)("%s is refused in one line, nothing left; runc refuses it too", (_, edit, re) => {
    const c = config(edit);
    const r = run(OCI, "bad", c);
    expect(r.code).not.toBe(0);
    const { line, lines } = oneLine(r.stderr);
    expect(line).toMatch(/^leopard-oci: run bad: /);
    expect(line).toMatch(re);
    expect(lines).toBe(1);
    expect(r.stderr).not.toMatch(/EACCES|at .*\.ts:/);
    expect(stateDir().stdout).toBe("");
    expect(run(RUNC, "bad-runc", c).code).not.toBe(0);
  });

  test("--root a user cannot write is a one-line error, not a raw EACCES", () => {
    const r = run(
      OCI,
      "root",
      config(() => {}),
      ["--root", "/run/leopard-rl-nope"],
    );
    expect(r.code).not.toBe(0);
    const { line, lines } = oneLine(r.stderr);
    expect(line).toMatch(
      /^leopard-oci: run root: cannot make the state directory under --root "\/run\/leopard-rl-nope": EACCES: permission denied/,
    );
    expect(lines).toBe(1);
  });

  test("without XDG_RUNTIME_DIR the error names it", () => {
    const r = user.run(["env", "-u", "XDG_RUNTIME_DIR", OCI, "list"]);
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toEqual({
      line: expect.stringMatching(/XDG_RUNTIME_DIR is not set/),
      lines: 1,
    });
  });
});
