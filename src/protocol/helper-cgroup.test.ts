// JOIN_CGROUP and FORK_PID1 into a cgroup, run by the real helper on the host's cgroups: the
// helper moves itself into a v1 cgroup through its `tasks` file, and init is born in a cgroup2
// directory (clone3 CLONE_INTO_CGROUP), with no cgroup.procs write by anyone.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmdirSync } from "node:fs";
import { planFrame } from "./encode.ts";
import type { Op } from "./ops.ts";
import { buildHelper, HelperRun } from "./testing.ts";

const NAME = `/leopard-test/helper-join-${process.pid}`;
const V1 = "/sys/fs/cgroup/pids";
const V2 = existsSync("/sys/fs/cgroup/cgroup.controllers")
  ? "/sys/fs/cgroup"
  : existsSync("/sys/fs/cgroup/unified/cgroup.procs")
    ? "/sys/fs/cgroup/unified"
    : undefined;
const hasV1 = existsSync(`${V1}/tasks`);
const O_DIRECTORY = 0o200000;
const made: string[] = [];

beforeAll(() => {
  buildHelper();
  for (const root of [hasV1 ? V1 : undefined, V2]) {
    if (root === undefined) continue;
    mkdirSync(`${root}${NAME}`, { recursive: true });
    made.push(`${root}${NAME}`);
  }
});
afterAll(() => {
  for (const d of made) rmdirSync(d);
});

test.skipIf(V2 === undefined)(
  "the helper joins a v1 cgroup by its tasks file and makes init in a cgroup2 directory",
  async () => {
    const extra: number[] = [];
    const ops: Op[] = [];
    if (hasV1) {
      extra.push(openSync(`${V1}${NAME}/tasks`, "w"));
      ops.push({ op: "JOIN_CGROUP", fd: 3 + extra.length });
    }
    extra.push(openSync(`${V2}${NAME}`, O_DIRECTORY));
    ops.push(
      { op: "FORK_PID1", mode: 1, cgroup: 3 + extra.length },
      // init: its own cgroups, and that the cgroup2 fd did not reach it
      {
        op: "EXEC",
        candidates: ["/bin/sh"],
        argv: ["sh", "-c", `cat /proc/self/cgroup; ls /proc/self/fd`],
        env: [],
      },
    );
    using h = new HelperRun({ extraFds: extra });
    for (const fd of extra) closeSync(fd);
    h.send(planFrame(ops));
    expect(h.next()?.type).toBe("pid");
    expect(h.next()).toBeNull();
    const exit = await h.finish();
    expect(exit.code).toBe(0);
    const lines = exit.stdout.split("\n");
    if (hasV1)
      expect(lines).toContain(`${lines.find((l) => l.includes(":pids:"))?.split(":")[0]}:pids:${NAME}`);
    expect(lines).toContain(`0::${NAME}`);
    // fds 0-2 and ls's own directory: the tasks fd and the cgroup2 fd were closed by their ops
    expect(lines.slice(-5, -1)).toEqual(["0", "1", "2", "3"]);
    // The v1 join moved the helper itself: its parent half (which waited for init) was there too,
    // and nobody wrote cgroup.procs: the cgroups are empty again now that both have exited.
    if (hasV1) expect(readFileSync(`${V1}${NAME}/cgroup.procs`, "utf8")).toBe("");
    expect(readFileSync(`${V2}${NAME}/cgroup.procs`, "utf8")).toBe("");
  },
);

test.skipIf(V2 === undefined)(
  "FORK_PID1 into a cgroup fd that is not a cgroup2 directory fails naming clone3",
  async () => {
    const fd = openSync("/tmp", O_DIRECTORY);
    using h = new HelperRun({ extraFds: [fd] });
    closeSync(fd);
    h.send(
      planFrame([
        { op: "FORK_PID1", mode: 1, cgroup: 4 },
        { op: "EXEC", candidates: ["/bin/true"], argv: ["true"], env: [] },
      ]),
    );
    const m = h.next();
    expect(m?.type).toBe("error");
    expect(JSON.stringify(m)).toContain("clone3 into the cgroup");
    await h.finish();
  },
);
