// A container killed half-made: `create` gets SIGKILL at each of its phases (the marks
// LEOPARD_TRACE=1 prints; LEOPARD_TEST_KILL_AT=<phase> makes it kill itself there), then
// `delete --force ID`, as podman and containerd do, must leave nothing: no state directory, no
// cgroup in any hierarchy, no process, no mount; and the id can be created again. runc leaves
// cgroups behind here; leopard's expected value is nothing at all.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Bundle, bundle, CGROUP_PARENT, mountsMentioning, OCI, oci, trackBundles } from "./harness.ts";

const use = trackBundles();

/** Every mark of a create, in order (a create with a user namespace and a createRuntime hook). */
const PHASES = [
  "cli: loaded",
  "create: modules loaded",
  "create: config.json validated",
  "create: planned",
  "create: id claimed",
  "create: cgroup made",
  "create: state dir ready",
  "create: helper started",
  "create: helper spawned",
  "create: id maps written",
  "create: cgroup joined",
  "create: init forked",
  "create: hooks run",
  "create: container ready",
  "create: state written",
];
/** From here on a killed create is listed (its record exists). */
const CLAIMED = PHASES.indexOf("create: id claimed");

/** Names the container's processes: the helper and init inherit it, the config's process has it. */
const MARKER = `LEOPARD_TEST_HALFMADE=${process.pid}`;

function halfmadeBundle(): Bundle {
  return bundle({
    userns: true,
    args: ["/bin/sleep", "60"],
    edit: (c) => {
      const p = c["process"] as { env: string[] };
      p.env.push(MARKER);
      const linux = c["linux"] as Record<string, unknown>;
      linux["resources"] = { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 50 } };
      c["hooks"] = { createRuntime: [{ path: "/bin/true" }] };
    },
  });
}

/**
 * Runs `create ID` unserved (the hook is read at start-up), with the marker and extra env. Its
 * output goes to files: init inherits them, so pipes would stay open while it lives.
 */
function spawnCreate(b: Bundle, id: string, env: Record<string, string> = {}) {
  const [name, value] = MARKER.split("=") as [string, string];
  return Bun.spawn([OCI, "--root", b.root, "create", id], {
    env: { ...process.env, LEOPARD_SERVE: "0", [name]: value, ...env },
    cwd: b.dir,
    stdin: "ignore",
    stdout: Bun.file(join(b.dir, `${id}.out`)),
    stderr: Bun.file(join(b.dir, `${id}.err`)),
  });
}

/** The container's cgroup directories that exist, in every hierarchy (v1, hybrid or v2). */
function cgroupsOf(id: string): string[] {
  const roots = existsSync("/sys/fs/cgroup/cgroup.controllers")
    ? ["/sys/fs/cgroup"]
    : readdirSync("/sys/fs/cgroup").map((h) => `/sys/fs/cgroup/${h}`);
  return roots.map((r) => `${r}${CGROUP_PARENT}/${id}`).filter((d) => existsSync(d));
}

/** Processes that carry the marker: create, the helper, init, the container's process. */
function markedProcesses(): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, "latin1").split("\0").includes(MARKER))
        out.push(Number(name));
    } catch {}
  }
  return out;
}

function listed(b: Bundle): { id: string; status: string }[] {
  const r = oci(b, ["list", "--format", "json"]);
  expect(r.stderr).toBe("");
  return JSON.parse(r.stdout) as { id: string; status: string }[];
}

/** What a container left: state, cgroups, processes, mounts. */
function traces(b: Bundle, id: string) {
  return {
    state: existsSync(b.root) ? readdirSync(b.root) : [],
    cgroups: cgroupsOf(id),
    processes: markedProcesses(),
    mounts: [...mountsMentioning(b.dir), ...mountsMentioning(b.root)],
  };
}
const NOTHING = { state: [], cgroups: [], processes: [], mounts: [] };

/** After the leftovers are gone the same id creates, and deletes, cleanly. */
function createsAgain(b: Bundle, id: string): void {
  const again = oci(b, ["create", id]);
  expect(again.stderr).toBe("");
  expect(again.code).toBe(0);
  expect(listed(b)).toContainEqual(expect.objectContaining({ id, status: "created" }));
  expect(oci(b, ["delete", "--force", id]).code).toBe(0);
  expect(traces(b, id)).toEqual(NOTHING);
}

describe("a create killed half-made", () => {
  test("the phases are every mark a create makes, in order", async () => {
    const b = use(halfmadeBundle());
    expect(await spawnCreate(b, "c1", { LEOPARD_TRACE: "1" }).exited).toBe(0);
    const marks = readFileSync(join(b.dir, "c1.err"), "utf8")
      .split("\n")
      .filter((l) => l.startsWith("leopard-trace:"))
      .map((l) => l.replace(/^leopard-trace: +[\d.]+ ms \(\+[\d.]+\) /, ""));
    expect(marks).toEqual(PHASES);
    expect(oci(b, ["delete", "--force", "c1"]).code).toBe(0);
  });

  for (const [i, phase] of PHASES.entries()) {
    test(`killed at "${phase}": listed, then delete --force leaves nothing and the id is free`, async () => {
      const b = use(halfmadeBundle());
      const p = spawnCreate(b, "c1", { LEOPARD_TEST_KILL_AT: phase });
      await p.exited;
      expect(p.signalCode).toBe("SIGKILL");
      if (i >= CLAIMED) {
        const status = i === PHASES.length - 1 ? "created" : "stopped";
        expect(listed(b)).toEqual([expect.objectContaining({ id: "c1", status })]);
      }
      const d = oci(b, ["delete", "--force", "c1"]);
      expect(d.stderr).toBe("");
      expect(d.code).toBe(0);
      expect(traces(b, "c1")).toEqual(NOTHING);
      createsAgain(b, "c1");
    });
  }

  test("a plain delete removes a half-made container too: its creator is gone, it is stopped", async () => {
    const b = use(halfmadeBundle());
    // Init exists and waits for `start`; state.json does not know its pid yet.
    const p = spawnCreate(b, "c1", { LEOPARD_TEST_KILL_AT: "create: container ready" });
    await p.exited;
    expect(p.signalCode).toBe("SIGKILL");
    expect(oci(b, ["state", "c1"]).stdout).toContain('"status": "stopped"');
    const d = oci(b, ["delete", "c1"]);
    expect(d.stderr).toBe("");
    expect(d.code).toBe(0);
    expect(traces(b, "c1")).toEqual(NOTHING);
  });

  test("a state directory without state.json is listed as stopped and delete --force removes it", () => {
    const b = use(halfmadeBundle());
    mkdirSync(`${b.root}/c1`, { recursive: true });
    expect(listed(b)).toEqual([expect.objectContaining({ id: "c1", status: "stopped", pid: 0 })]);
    const d = oci(b, ["delete", "--force", "c1"]);
    expect(d.stderr).toBe("");
    expect(d.code).toBe(0);
    expect(traces(b, "c1")).toEqual(NOTHING);
    createsAgain(b, "c1");
  });

  test("killed at random moments, 30 times: delete --force leaves nothing each time", async () => {
    const b = use(halfmadeBundle());
    // How long a whole create takes here: the kills land anywhere in it, or just after.
    const t0 = performance.now();
    expect(await spawnCreate(b, "c0").exited).toBe(0);
    const span = (performance.now() - t0) * 1.2;
    expect(oci(b, ["delete", "--force", "c0"]).code).toBe(0);
    for (let i = 0; i < 30; i++) {
      const id = `r${i}`;
      const p = spawnCreate(b, id);
      await Bun.sleep(Math.random() * span);
      p.kill("SIGKILL");
      await p.exited;
      const d = oci(b, ["delete", "--force", id]);
      expect({ i, stderr: d.stderr, code: d.code }).toEqual({ i, stderr: "", code: 0 });
      expect({ i, ...traces(b, id) }).toEqual({ i, ...NOTHING });
    }
    createsAgain(b, "r0");
  }, 300_000);
});
