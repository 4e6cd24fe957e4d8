import { describe, expect, test } from "bun:test";
import { parseMountOptions } from "./mount-options.ts";
import { type HostFacts, type PlanSpec, plan } from "./plan.ts";
import { planInput, TEST_HOST } from "./testing.ts";

const spec: PlanSpec = {
  process: { user: { uid: 0, gid: 0 }, args: ["sh"], env: [], cwd: "/" },
  root: { path: "/r" },
  mounts: [{ destination: "/run", type: "tmpfs", source: "tmpfs", options: ["nosuid", "tmpcopyup"] }],
  linux: { namespaces: [{ type: "mount" }] },
};

function planWith(host: Partial<HostFacts>) {
  return plan(planInput(spec, { host: { ...TEST_HOST, ...host } }));
}

describe("tmpcopyup", () => {
  test("is an option of its own, never passed to tmpfs as data", () => {
    expect(parseMountOptions(["tmpcopyup", "mode=755"])).toMatchObject({ copyUp: true, data: ["mode=755"] });
  });

  test("over an empty or missing directory it is a plain tmpfs", () => {
    const seen: string[] = [];
    const p = planWith({
      dirIsEmpty: (d) => {
        seen.push(d);
        return true;
      },
    });
    expect(seen).toEqual(["/r/run"]);
    const m = p.steps.map((s) => s.op).find((o) => o.op === "MOUNT" && o.target === "/run");
    expect(m).toMatchObject({ source: "tmpfs", fstype: "tmpfs", data: "" });
  });

  test("over a directory with files it is refused, not silently emptied", () => {
    expect(() => planWith({ dirIsEmpty: () => false })).toThrow(
      'mount option "tmpcopyup" over the non-empty directory "/run" is not supported yet',
    );
    expect(() => planWith({})).toThrow("tmpcopyup");
  });
});
