import { expect, test } from "bun:test";
import type { Step } from "../plan/plan.ts";
import { Timings } from "./timings.ts";

const steps: Step[] = [
  { op: { op: "UNSHARE", flags: 0 }, explain: "unshare" },
  { op: { op: "SYNC", tag: 2 }, explain: "sync 2" },
  { op: { op: "FORK_PID1", mode: 0, cgroup: 0xffff_ffff }, explain: "fork" },
  { op: { op: "SETSID" }, explain: "setsid" },
  { op: { op: "WAIT_START" }, explain: "wait" },
  { op: { op: "EXEC", candidates: ["/bin/true"], argv: ["true"], env: [] }, explain: "exec" },
];

test("the table lists the runtime's phases, then every op once, timed where the helper reported it", () => {
  const t = new Timings();
  t.phase("plan");
  // PID: ops 0..2 and the end of the fork; READY: op 3, ended by WAIT_START's start.
  t.helper({ first: 0, stamps: [0n, 1_000_000n, 3_000_000n, 3_500_000n] });
  t.helper({ first: 3, stamps: [4_000_000n, 4_250_000n] });
  t.sync(1, 1.5);
  const lines = t.table(steps).split("\n");
  expect(lines[0]).toBe("timings:");
  expect(lines[1]).toMatch(/ms {2}runtime: plan$/);
  const rows = lines.slice(2);
  expect(rows.map((l) => /(\d+)\. (\w+)/.exec(l)?.slice(1))).toEqual(
    steps.map((s, i) => [String(i + 1), s.op.op]),
  );
  expect(rows[0]).toMatch(/^ +1\.00 ms +1\. UNSHARE$/);
  expect(rows[1]).toMatch(/^ +2\.00 ms +2\. SYNC \(runtime 1\.50 ms\)$/);
  expect(rows[2]).toMatch(/^ +0\.50 ms +3\. FORK_PID1$/);
  expect(rows[3]).toMatch(/^ +0\.25 ms +4\. SETSID$/);
  expect(rows[4]).toMatch(/^ +- +5\. WAIT_START +\(after start/);
  expect(rows[5]).toMatch(/^ +- +6\. EXEC/);
});
