import { describe, expect, test } from "bun:test";
import type { CgroupLayout } from "./layout.ts";
import { resolveCgroupsPath } from "./path.ts";

const v1: CgroupLayout = {
  mode: "v1",
  v1: new Map([
    ["memory", "/sys/fs/cgroup/memory"],
    ["pids", "/sys/fs/cgroup/pids"],
  ]),
  unified: undefined,
  unifiedControllers: [],
  fake: false,
};
const hybrid: CgroupLayout = {
  ...v1,
  mode: "hybrid",
  unified: "/sys/fs/cgroup/unified",
  unifiedControllers: ["hugetlb"],
};
const v2: CgroupLayout = {
  mode: "v2",
  v1: new Map(),
  unified: "/sys/fs/cgroup",
  unifiedControllers: [],
  fake: false,
};

describe("linux.cgroupsPath", () => {
  test("no path puts the container under /leopard/<id> in every hierarchy", () => {
    expect(resolveCgroupsPath(undefined, "c1", v1)).toEqual({ memory: "/leopard/c1", pids: "/leopard/c1" });
    expect(resolveCgroupsPath("", "c1", v2)).toEqual({ "": "/leopard/c1" });
    expect(resolveCgroupsPath(undefined, "c1", hybrid)).toEqual({
      memory: "/leopard/c1",
      pids: "/leopard/c1",
      "": "/leopard/c1",
    });
  });

  test("an absolute path is used as it is, normalized", () => {
    expect(resolveCgroupsPath("//leopard-test//a/", "c1", v2)).toEqual({ "": "/leopard-test/a" });
  });

  test("a relative path is relative to the runtime's own cgroup in each hierarchy", () => {
    const own = () =>
      new Map([
        ["memory", "/process_api/abc"],
        ["pids", "/"],
        ["", "/"],
      ]);
    expect(resolveCgroupsPath("x/c1", "c1", hybrid, { own })).toEqual({
      memory: "/process_api/abc/x/c1",
      pids: "/x/c1",
      "": "/x/c1",
    });
  });

  test("on a cgroup-v2-only host a relative path is relative to the parent of the runtime's own cgroup (runc's fs2)", () => {
    const own = (path: string) => () => new Map([["", path]]);
    const scope = "/user.slice/user-1000.slice/user@1000.service/app.slice/run-r1.scope";
    expect(resolveCgroupsPath("c1", "c1", v2, { own: own(scope) })).toEqual({
      "": "/user.slice/user-1000.slice/user@1000.service/app.slice/c1",
    });
    expect(resolveCgroupsPath("x/c1", "c1", v2, { own: own("/a") })).toEqual({ "": "/x/c1" });
    expect(resolveCgroupsPath("x/c1", "c1", v2, { own: own("/") })).toEqual({ "": "/x/c1" });
  });

  test("a path with .. is refused", () => {
    expect(() => resolveCgroupsPath("/a/../../b", "c1", v2)).toThrow('must not contain "." or ".."');
    expect(() => resolveCgroupsPath("../b", "c1", v2)).toThrow('must not contain "." or ".."');
  });

  test("a systemd slice:prefix:name path without --systemd-cgroup says it needs the flag", () => {
    expect(() => resolveCgroupsPath("system.slice:leopard:c1", "c1", v2)).toThrow(
      'linux.cgroupsPath "system.slice:leopard:c1" is a systemd path (slice:prefix:name), which needs --systemd-cgroup',
    );
  });

  test("--systemd-cgroup: the scope's cgroup where systemd is init; a clear error without systemd", () => {
    const on = { systemd: true, systemdRunning: () => true };
    expect(resolveCgroupsPath("machine.slice:libpod:c1", "c1", v2, on)).toEqual({
      "": "/machine.slice/libpod-c1.scope",
    });
    expect(resolveCgroupsPath(undefined, "c1", v2, on)).toEqual({ "": "/system.slice/leopard-c1.scope" });
    expect(() =>
      resolveCgroupsPath("system.slice:leopard:c1", "c1", v2, { systemd: true, systemdRunning: () => false }),
    ).toThrow("--systemd-cgroup needs systemd, which is not running on this host");
    // Rootless: the user manager's scope under its cgroup; cgroup v2 only.
    const user = { ...on, userManager: () => "/user.slice/user-1000.slice/user@1000.service" };
    expect(resolveCgroupsPath(undefined, "c1", v2, user)).toEqual({
      "": "/user.slice/user-1000.slice/user@1000.service/user.slice/leopard-c1.scope",
    });
    expect(() => resolveCgroupsPath(undefined, "c1", hybrid, user)).toThrow(
      "--systemd-cgroup rootless needs cgroup v2 only",
    );
    // On v1 and hybrid hosts, the same path in every hierarchy (as runc's systemd driver).
    const both = resolveCgroupsPath("machine.slice:libpod:c1", "c1", hybrid, on);
    expect(Object.keys(both).sort()).toEqual(Object.keys(resolveCgroupsPath(undefined, "c1", hybrid)).sort());
    expect(new Set(Object.values(both))).toEqual(new Set(["/machine.slice/libpod-c1.scope"]));
  });

  test("the root cgroup is refused", () => {
    expect(() => resolveCgroupsPath("/", "c1", v2)).toThrow("is the root cgroup");
  });
});
