// create / start / state / kill / delete / list as engines call them.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Bundle, bundle, oci, readState, trackBundles, until } from "./harness.ts";

const use = trackBundles();

const status = (bb: Bundle, id: string) => readState(bb, id)["status"];

describe("lifecycle", () => {
  test("create leaves the process waiting; start runs it; it stops when it exits", async () => {
    const b = use(bundle({ userns: true, args: ["/bin/sh", "-c", "read x < /dev/null; sleep 2"] }));
    const pidFile = join(b.dir, "pid");
    const c = oci(b, ["create", "--pid-file", pidFile, "c1"]);
    expect(c.stderr).toBe("");
    expect(c.code).toBe(0);
    const st = readState(b, "c1");
    expect(st["status"]).toBe("created");
    expect(st["id"]).toBe("c1");
    expect(st["bundle"]).toBe(b.dir);
    expect(st["ociVersion"]).toMatch(/^1\.\d+\.\d+$/);
    expect(typeof st["created"]).toBe("string");
    expect(readFileSync(pidFile, "utf8")).toBe(String(st["pid"]));
    // The user process has not run: init is still the helper, waiting on the FIFO.
    expect(readFileSync(`/proc/${st["pid"]}/cmdline`, "utf8")).not.toContain("sleep");
    expect(oci(b, ["start", "c1"]).code).toBe(0);
    expect(status(b, "c1")).toBe("running");
    const again = oci(b, ["start", "c1"]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toBe("leopard-oci: start c1: cannot start a container that is running\n");
    await until(() => status(b!, "c1") === "stopped", 15_000, "the container to stop");
    expect(readState(b, "c1")["pid"]).toBe(0);
    expect(oci(b, ["delete", "c1"]).code).toBe(0);
    const gone = oci(b, ["state", "c1"]);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toBe('leopard-oci: state c1: container "c1" does not exist\n');
  });

  test("kill sends a signal by name or number and the container stops", async () => {
    const b = use(bundle({ args: ["/bin/sleep", "60"] }));
    expect(oci(b, ["run", "-d", "c1"]).code).toBe(0);
    expect(oci(b, ["kill", "c1", "KILL"]).code).toBe(0);
    await until(() => status(b!, "c1") === "stopped", 10_000, "stop after KILL");
    expect(oci(b, ["kill", "c1", "9"]).stderr).toContain("container not running");
    // As runc (checked: `runc kill --all` of a stopped container exits 0, plain `kill` 1), which
    // containerd's shim relies on when it sends `kill --all ID 9` after init exited.
    expect(oci(b, ["kill", "--all", "c1", "9"])).toMatchObject({ code: 0, stderr: "" });
    expect(oci(b, ["delete", "c1"]).code).toBe(0);
    expect(oci(b, ["run", "-d", "c2"]).code).toBe(0);
    expect(oci(b, ["kill", "c2", "9"]).code).toBe(0);
    await until(() => status(b!, "c2") === "stopped", 10_000, "stop after 9");
    expect(oci(b, ["kill", "c2", "SIGNOPE"]).stderr).toContain('invalid signal "SIGNOPE"');
    expect(oci(b, ["delete", "c2"]).code).toBe(0);
  });

  test("kill --all signals every process in the container", async () => {
    const b = use(bundle({ args: ["/bin/sh", "-c", "sleep 60 & sleep 60 & wait"] }));
    expect(oci(b, ["run", "-d", "c1"]).code).toBe(0);
    const pid = readState(b, "c1")["pid"] as number;
    await until(
      () => readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(" ").length === 2,
      10_000,
      "two children",
    );
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(" ").map(Number);
    expect(oci(b, ["kill", "--all", "c1", "KILL"]).code).toBe(0);
    await until(
      () =>
        kids.every(
          (k) => !existsSync(`/proc/${k}/stat`) || readFileSync(`/proc/${k}/stat`, "utf8").includes(") Z"),
        ),
      10_000,
      "children gone",
    );
    await until(() => status(b!, "c1") === "stopped", 10_000, "stopped");
    expect(oci(b, ["delete", "c1"]).code).toBe(0);
  });

  test("delete refuses a running container without --force and removes it with --force", () => {
    const b = use(bundle({ args: ["/bin/sleep", "60"] }));
    expect(oci(b, ["run", "-d", "c1"]).code).toBe(0);
    const pid = readState(b, "c1")["pid"] as number;
    const r = oci(b, ["delete", "c1"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toBe(
      'leopard-oci: delete c1: cannot delete container "c1" that is not stopped: running\n',
    );
    expect(status(b, "c1")).toBe("running");
    expect(oci(b, ["delete", "--force", "c1"]).code).toBe(0);
    expect(
      existsSync(`/proc/${pid}/cmdline`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z"),
    ).toBe(false);
    expect(oci(b, ["state", "c1"]).code).not.toBe(0);
  });

  test("delete of a created container kills its waiting process", () => {
    const b = use(bundle({ args: ["/bin/true"] }));
    expect(oci(b, ["create", "c1"]).code).toBe(0);
    const pid = readState(b, "c1")["pid"] as number;
    expect(oci(b, ["delete", "--force", "c1"]).code).toBe(0);
    expect(
      existsSync(`/proc/${pid}/stat`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z"),
    ).toBe(false);
  });

  test("list shows containers as a table and as JSON", () => {
    const b = use(bundle({ args: ["/bin/sleep", "60"] }));
    expect(oci(b, ["create", "c1"]).code).toBe(0);
    expect(oci(b, ["run", "-d", "c2"]).code).toBe(0);
    const table = oci(b, ["list"]).stdout.trim().split("\n");
    expect(table[0]?.split(/\s+/)).toEqual(["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]);
    expect(
      table
        .slice(1)
        .map((l) => l.split(/\s+/).slice(0, 3)[0] + ":" + l.split(/\s+/)[2])
        .sort(),
    ).toEqual(["c1:created", "c2:running"]);
    const json = JSON.parse(oci(b, ["list", "--format", "json"]).stdout) as { id: string; status: string }[];
    expect(json.map((s) => `${s.id}:${s.status}`).sort()).toEqual(["c1:created", "c2:running"]);
    expect(oci(b, ["list", "-q"]).stdout.split("\n").filter(Boolean).sort()).toEqual(["c1", "c2"]);
    expect(oci(b, ["delete", "-f", "c1"]).code).toBe(0);
    expect(oci(b, ["delete", "-f", "c2"]).code).toBe(0);
  });

  test("a recycled pid is never mistaken for the container", () => {
    const b = use(bundle());
    // A state whose pid is alive (this test process) but started at another time.
    mkdirSync(join(b.root, "ghost"), { recursive: true });
    const ghost = {
      ociVersion: "1.2.0",
      id: "ghost",
      pid: process.pid,
      pidStartTime: "1",
      bundle: b.dir,
      rootfs: "/",
      created: new Date().toISOString(),
      owner: "",
      annotations: {},
      ownPidNamespace: true,
    };
    writeFileSync(join(b.root, "ghost/state.json"), JSON.stringify(ghost));
    expect(readState(b, "ghost")["status"]).toBe("stopped");
    expect(oci(b, ["kill", "ghost", "KILL"]).code).not.toBe(0);
    expect(oci(b, ["delete", "ghost"]).code).toBe(0);
  });

  test("state reports creating while a create is in progress", async () => {
    const b = use(bundle());
    const sleeper = Bun.spawn(["sleep", "30"]);
    mkdirSync(join(b.root, "c0"), { recursive: true });
    const s = {
      ociVersion: "1.2.0",
      id: "c0",
      pid: 0,
      pidStartTime: "",
      bundle: b.dir,
      rootfs: "/",
      created: "",
      owner: "",
      annotations: {},
      ownPidNamespace: true,
      creatorPid: sleeper.pid,
    };
    writeFileSync(join(b.root, "c0/state.json"), JSON.stringify(s));
    try {
      expect(readState(b, "c0")["status"]).toBe("creating");
      expect(oci(b, ["delete", "c0"]).code).not.toBe(0);
    } finally {
      sleeper.kill("SIGKILL");
    }
    await sleeper.exited;
    expect(readState(b, "c0")["status"]).toBe("stopped");
    expect(oci(b, ["delete", "c0"]).code).toBe(0);
  });

  test("--version prints runc-style lines", () => {
    const b = use(bundle());
    const r = oci(b, ["--version"]);
    expect(r.stdout).toMatch(/^leopard-oci version \d+\.\d+\.\d+\nspec: 1\.\d+\.\d+\n$/);
  });
});
