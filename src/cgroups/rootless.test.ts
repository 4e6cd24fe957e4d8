import { describe, expect, test } from "bun:test";
import type { CgroupLayout } from "./layout.ts";
import { NO_RESOURCES } from "./resources.ts";
import { hierarchyDir, requestedLimits, rootlessCgroupPaths } from "./rootless.ts";

const v1Paths = { memory: "/user/c", pids: "/user/c", cpu: "/user/c", "": "/user/c" };
const none = () => false;
const all = () => true;

describe("a rootless container's cgroup (runc's rules)", () => {
  test.each([
    ["no writable hierarchy, no limits: no cgroup at all", v1Paths, false, none, [], "hybrid", {}],
    [
      "an explicit cgroupsPath is kept as given (making it fails as for runc)",
      v1Paths,
      true,
      none,
      [{ field: "memory", controller: "memory" }],
      "v1",
      v1Paths,
    ],
    [
      "only the hierarchies the user may write are kept",
      v1Paths,
      false,
      (k: string) => k === "pids" || k === "",
      [{ field: "pids", controller: "pids" }],
      "hybrid",
      { pids: "/user/c", "": "/user/c" },
    ],
    [
      "a delegated cgroup v2 subtree is used for a limit",
      { "": "/user.slice/u/c" },
      false,
      all,
      [{ field: "memory", controller: "memory" }],
      "v2",
      { "": "/user.slice/u/c" },
    ],
    [
      "cgroup v2 without a limit: no cgroup, even where writable (runc's fs2)",
      { "": "/user.slice/u/c" },
      false,
      all,
      [],
      "v2",
      {},
    ],
    [
      "a hybrid host's unified hierarchy only for a limit; the writable v1 ones are joined",
      v1Paths,
      false,
      all,
      [],
      "hybrid",
      { memory: "/user/c", pids: "/user/c", cpu: "/user/c" },
    ],
  ] as const)("%s", (_, paths, explicit, writable, limits, mode, want) => {
    expect(rootlessCgroupPaths(paths, { explicit, writable, limits: [...limits], mode })).toEqual(want);
  });

  test.each([
    [
      "v1",
      v1Paths,
      { field: "memory", controller: "memory" },
      /cannot set linux\.resources\.memory: a rootless container could not make its cgroup .*cgroup v1/,
    ],
    [
      "v2",
      { "": "/c" },
      { field: "pids", controller: "pids" },
      /cannot set linux\.resources\.pids: .*a systemd user session delegates one/,
    ],
  ] as const)("a limit without a writable cgroup is refused in one line (%s)", (mode, paths, limit, re) => {
    expect(() =>
      rootlessCgroupPaths(paths, { explicit: false, writable: none, limits: [limit], mode }),
    ).toThrow(re);
  });

  test("the limits asked for name their v1 controller; devices are not among them", () => {
    expect(requestedLimits(NO_RESOURCES)).toEqual([]);
    expect(
      requestedLimits({
        ...NO_RESOURCES,
        memory: { limit: 1 },
        pids: { limit: 5 },
        devices: [{ allow: false }],
      } as never),
    ).toEqual([
      { field: "memory", controller: "memory" },
      { field: "pids", controller: "pids" },
    ]);
  });

  test("a hierarchy's directory is its mount plus the path", () => {
    const layout = {
      mode: "hybrid",
      v1: new Map([["memory", "/sys/fs/cgroup/memory"]]),
      unified: "/sys/fs/cgroup/unified",
      unifiedControllers: [],
      fake: false,
    } as CgroupLayout;
    expect(hierarchyDir(layout, "memory", "/a/c")).toBe("/sys/fs/cgroup/memory/a/c");
    expect(hierarchyDir(layout, "", "/a/c")).toBe("/sys/fs/cgroup/unified/a/c");
    expect(hierarchyDir(layout, "cpu", "/a/c")).toBeUndefined();
  });
});
