import { describe, expect, test } from "bun:test";
import type { Op } from "../protocol/ops.ts";
import { SyncTag } from "../protocol/ops.ts";
import type { PlanHooks } from "./hooks.ts";
import { type PlanInput, type PlanSpec, plan } from "./plan.ts";
import { planInput } from "./testing.ts";

const spec: PlanSpec = {
  process: { user: { uid: 0, gid: 0 }, args: ["sh"], env: [], cwd: "/" },
  root: { path: "/r" },
  mounts: [],
  linux: { namespaces: [{ type: "pid" }, { type: "mount" }] },
};

const hook = (path: string) => ({ path, argv: [path], env: ["A=1"], timeoutMs: 5000 });
const hooks: PlanHooks = {
  runtime: true,
  createContainer: [hook("/cc")],
  startContainer: [hook("/sc")],
  creating: { head: '{"status":"creating","pid":', tail: "}" },
  created: { head: '{"status":"created","pid":', tail: "}" },
};

function ops(over: Partial<PlanInput> = {}): Op[] {
  return plan(planInput(spec, { id: "c1", ...over })).steps.map((s) => s.op);
}

const index = (list: Op[], pred: (o: Op) => boolean) => list.findIndex(pred);

describe("hooks in the plan", () => {
  test("sync 4 and createContainer come after the mounts and before pivot_root; startContainer after the start FIFO", () => {
    const o = ops({ hooks });
    const sync = index(o, (x) => x.op === "SYNC" && x.tag === SyncTag.HOOKS);
    const cc = index(o, (x) => x.op === "RUN_HOOK" && x.stage === "createContainer");
    const sc = index(o, (x) => x.op === "RUN_HOOK" && x.stage === "startContainer");
    expect(sync).toBeGreaterThan(index(o, (x) => x.op === "SET_ROOT"));
    expect(cc).toBeGreaterThan(sync);
    expect(cc).toBeLessThan(index(o, (x) => x.op === "PIVOT_ROOT"));
    expect(sc).toBeGreaterThan(index(o, (x) => x.op === "WAIT_START"));
    expect(sc).toBeLessThan(index(o, (x) => x.op === "EXEC"));
    expect(o[sc]).toMatchObject({
      path: "/sc",
      env: ["A=1"],
      timeout_ms: 5000,
      state_head: hooks.created.head,
    });
  });

  test("no hooks, no sync 4 and no RUN_HOOK", () => {
    const o = ops();
    expect(o.some((x) => x.op === "RUN_HOOK" || (x.op === "SYNC" && x.tag === SyncTag.HOOKS))).toBe(false);
    expect(
      ops({ hooks: { ...hooks, runtime: false } }).some((x) => x.op === "SYNC" && x.tag === SyncTag.HOOKS),
    ).toBe(false);
  });

  test("a fresh session keyring named after the container, unless --no-new-keyring", () => {
    expect(ops().filter((x) => x.op === "KEYRING")).toEqual([{ op: "KEYRING", name: "c1" }]);
    expect(ops({ newKeyring: false }).some((x) => x.op === "KEYRING")).toBe(false);
  });
});
