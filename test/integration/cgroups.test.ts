// Cgroups through leopard-oci on this host (v1 controllers + a hybrid cgroup2): limits from
// config.json seen from inside and in the cgroup files, update, pause/resume, ps, events, OOM,
// and delete removing the cgroup even when frozen.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bundle, CGROUP_PARENT, oci, readState, trackBundles, until } from "./harness.ts";

const use = trackBundles();
/** Pure cgroup v2 (the test VM of `make test-cgroup-v2`) or v1/hybrid (this project's hosts). */
const V2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
/** A control file of the container's cgroup on the host: its v1 controller and name, its v2 name. */
const hostFile = (id: string, ctl: string, v1: string, v2: string) =>
  V2 ? `/sys/fs/cgroup${CGROUP_PARENT}/${id}/${v2}` : `/sys/fs/cgroup/${ctl}${CGROUP_PARENT}/${id}/${v1}`;
/** The same file as the container sees it through its cgroup namespace. */
const insideFile = (ctl: string, v1: string, v2: string) =>
  V2 ? `/sys/fs/cgroup/${v2}` : `/sys/fs/cgroup/${ctl}/${v1}`;
const memLimit = (id: string) => hostFile(id, "memory", "memory.limit_in_bytes", "memory.max");
const pidsMax = (id: string) => hostFile(id, "pids", "pids.max", "pids.max");
const resources = (r: Record<string, unknown>) => (c: Record<string, unknown>) => {
  const linux = c["linux"] as Record<string, unknown>;
  linux["resources"] = { ...(linux["resources"] as object), ...r };
  const ns = linux["namespaces"] as { type: string }[];
  if (!ns.some((n) => n.type === "cgroup")) ns.push({ type: "cgroup" });
};

function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return Number(rest[11]) + Number(rest[12]);
}

describe("cgroups", () => {
  test("memory and pids limits apply: in the cgroup files and from inside the container", () => {
    const b = use(
      bundle({
        args: ["/bin/sleep", "30"],
        edit: resources({ memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 50 } }),
      }),
    );
    expect(oci(b, ["run", "-d", "c1"]).code).toBe(0);
    expect(readFileSync(memLimit("c1"), "utf8").trim()).toBe(String(64 * 1024 * 1024));
    expect(readFileSync(pidsMax("c1"), "utf8").trim()).toBe("50");
    const pid = readState(b, "c1")["pid"] as number;
    const procs = hostFile("c1", "memory", "cgroup.procs", "cgroup.procs");
    expect(readFileSync(procs, "utf8").split("\n")).toContain(String(pid));
    expect(oci(b, ["delete", "-f", "c1"]).code).toBe(0);
    expect(existsSync(procs)).toBe(false);
    const inside = `cat ${insideFile("memory", "memory.limit_in_bytes", "memory.max")} ${insideFile("pids", "pids.max", "pids.max")}`;
    b.config["process"] = { ...(b.config["process"] as object), args: ["/bin/sh", "-c", inside] };
    b.write();
    expect(oci(b, ["run", "c2"]).stdout).toBe(`${64 * 1024 * 1024}\n50\n`);
  });

  test("a fork bomb stops at pids.max", () => {
    // The bomb runs in a child shell (busybox sh gives up when it cannot fork); the sleeps it
    // started stay. After it, only shell builtins: nothing else can fork at the limit.
    const script =
      "sh -c 'while :; do sleep 30 & done' 2>/dev/null; " +
      `read c < ${insideFile("pids", "pids.current", "pids.current")}; read e < ${insideFile("pids", "pids.events", "pids.events")}; echo $c; echo $e`;
    const b = use(bundle({ args: ["/bin/sh", "-c", script], edit: resources({ pids: { limit: 20 } }) }));
    const r = oci(b, ["run", "c1"]);
    const [current, events] = r.stdout.trim().split("\n");
    // 20 at the peak; the bomb's own shell has exited since.
    expect(Number(current)).toBeGreaterThanOrEqual(19);
    expect(Number(current)).toBeLessThanOrEqual(20);
    expect(events).toMatch(/^max [1-9]\d*$/);
  });

  test("update changes a running container's limits", () => {
    const b = use(
      bundle({ args: ["/bin/sleep", "30"], edit: resources({ memory: { limit: 64 * 1024 * 1024 } }) }),
    );
    expect(oci(b, ["run", "-d", "c1"]).code).toBe(0);
    expect(oci(b, ["update", "--memory", "128m", "--pids-limit", "30", "c1"]).code).toBe(0);
    expect(readFileSync(memLimit("c1"), "utf8").trim()).toBe(String(128 * 1024 * 1024));
    expect(readFileSync(pidsMax("c1"), "utf8").trim()).toBe("30");
    const file = join(b.dir, "res.json");
    writeFileSync(file, JSON.stringify({ memory: { limit: 96 * 1024 * 1024 } }));
    expect(oci(b, ["update", "--resources", file, "c1"]).code).toBe(0);
    expect(readFileSync(memLimit("c1"), "utf8").trim()).toBe(String(96 * 1024 * 1024));
    const bad = oci(b, ["update", "--memory", "lots", "c1"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split("\n").length).toBe(1);
    expect(oci(b, ["delete", "-f", "c1"]).code).toBe(0);
  });

  test("as Docker drives it: blockIO.weight 0 at create, and update --resources - ID with the JSON on stdin", () => {
    const b = use(
      bundle({
        args: ["/bin/sleep", "30"],
        edit: resources({ memory: { limit: 64 * 1024 * 1024 }, blockIO: { weight: 0 } }),
      }),
    );
    expect(oci(b, ["run", "-d", "c1"])).toMatchObject({ code: 0, stderr: "" });
    const json = JSON.stringify({
      memory: { limit: 80 * 1024 * 1024 },
      pids: { limit: 20 },
      blockIO: { weight: 0 },
    });
    expect(oci(b, ["update", "--resources", "-", "c1"], { stdin: json })).toMatchObject({
      code: 0,
      stderr: "",
    });
    expect(readFileSync(memLimit("c1"), "utf8").trim()).toBe(String(80 * 1024 * 1024));
    expect(readFileSync(pidsMax("c1"), "utf8").trim()).toBe("20");
    expect(oci(b, ["delete", "-f", "c1"]).code).toBe(0);
  });

  test("pause freezes a busy loop (its cpu time stops growing), resume thaws it, state says paused", async () => {
    const b = use(bundle({ args: ["/bin/sh", "-c", "while :; do :; done"], edit: resources({}) }));
    expect(oci(b, ["run", "-d", "c1"]).code).toBe(0);
    const pid = readState(b, "c1")["pid"] as number;
    expect(oci(b, ["pause", "c1"]).code).toBe(0);
    expect(readState(b, "c1")["status"]).toBe("paused");
    const t0 = cpuTicks(pid);
    await Bun.sleep(300);
    expect(cpuTicks(pid)).toBe(t0);
    expect(oci(b, ["pause", "c1"]).stderr).toContain("cannot pause a container that is paused");
    expect(oci(b, ["resume", "c1"]).code).toBe(0);
    expect(readState(b, "c1")["status"]).toBe("running");
    await until(() => cpuTicks(pid) > t0, 10_000, "cpu time to grow again");
    // delete --force of a frozen container: thaw, kill, remove.
    expect(oci(b, ["pause", "c1"]).code).toBe(0);
    expect(oci(b, ["delete", "--force", "c1"]).code).toBe(0);
    expect(existsSync(hostFile("c1", "freezer", "", ""))).toBe(false);
  });

  test("events --stats prints runc's stats JSON; ps --format json lists the cgroup's processes", () => {
    const b = use(
      bundle({
        args: ["/bin/sh", "-c", "sleep 30 & wait"],
        edit: resources({ memory: { limit: 64 * 1024 * 1024 } }),
      }),
    );
    expect(oci(b, ["run", "-d", "c1"]).code).toBe(0);
    const ev = JSON.parse(oci(b, ["events", "--stats", "c1"]).stdout) as {
      type: string;
      id: string;
      data: Record<string, Record<string, unknown>>;
    };
    expect(ev.type).toBe("stats");
    expect(ev.id).toBe("c1");
    expect(Object.keys(ev.data)).toEqual(expect.arrayContaining(["cpu", "memory", "pids"]));
    expect((ev.data["pids"] as { current: number }).current).toBeGreaterThanOrEqual(2);
    const pids = JSON.parse(oci(b, ["ps", "--format", "json", "c1"]).stdout) as number[];
    expect(pids.length).toBeGreaterThanOrEqual(2);
    expect(oci(b, ["delete", "-f", "c1"]).code).toBe(0);
  });

  test("a memory hog is OOM-killed inside its container and events reports it", async () => {
    const b = use(
      bundle({
        args: ["/bin/sh", "-c", "sleep 1; head -c 200m /dev/zero | tail > /dev/null; sleep 30"],
        edit: resources({ memory: { limit: 32 * 1024 * 1024, swap: 32 * 1024 * 1024 } }),
      }),
    );
    expect(oci(b, ["run", "-d", "c1"]).code).toBe(0);
    const events = Bun.spawn(
      [join(import.meta.dir, "../../bin/leopard-oci"), "--root", b.root, "events", "--interval", "1s", "c1"],
      {
        stdout: "pipe",
        env: process.env,
      },
    );
    try {
      const reader = events.stdout.getReader();
      let seen = "";
      const deadline = Date.now() + 20_000;
      while (!seen.includes('"type":"oom"') && Date.now() < deadline) {
        const { value, done } = await Promise.race([
          reader.read(),
          Bun.sleep(20_000).then(() => ({ value: undefined, done: true })),
        ]);
        if (done) break;
        seen += new TextDecoder().decode(value);
      }
      expect(seen).toContain('{"type":"oom","id":"c1"}');
    } finally {
      events.kill();
      await events.exited;
    }
    const oomFile = hostFile("c1", "memory", "memory.oom_control", "memory.events");
    expect(Number(readFileSync(oomFile, "utf8").match(/oom_kill (\d+)/)?.[1])).toBeGreaterThan(0);
    expect(oci(b, ["delete", "-f", "c1"]).code).toBe(0);
  });

  test("without a cgroup namespace the container sees only its own cgroup, read-only", () => {
    const limit = insideFile("memory", "memory.limit_in_bytes", "memory.max");
    const b = use(
      bundle({
        args: [
          "/bin/sh",
          "-c",
          `cat ${limit}; ls /sys/fs/cgroup${V2 ? "" : "/memory"} | grep -c leopard-test; echo 1 > ${limit} || echo refused`,
        ],
        edit: (c) => {
          resources({ memory: { limit: 48 * 1024 * 1024 } })(c);
          const linux = c["linux"] as Record<string, unknown>;
          linux["namespaces"] = (linux["namespaces"] as { type: string }[]).filter(
            (n) => n.type !== "cgroup",
          );
        },
      }),
    );
    const r = oci(b, ["run", "c1"]);
    expect(r.stdout.split("\n").slice(0, 3)).toEqual([String(48 * 1024 * 1024), "0", "refused"]);
  });

  test("a resource the host cannot set is refused at create with nothing left behind", () => {
    const b = use(bundle({ edit: resources({ rdma: { mlx_bogus: { hcaHandles: 1 } } }) }));
    const r = oci(b, ["create", "c1"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split("\n").length).toBe(1);
    expect(r.stderr).toContain("rdma");
    expect(existsSync(memLimit("c1"))).toBe(false);
  });
});
