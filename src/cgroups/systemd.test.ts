import { describe, expect, test } from "bun:test";
import { LeopardError } from "../util/errors.ts";
import { readResources } from "./resources.ts";
import {
  parseSystemdPath,
  scopeProperties,
  setScopeProperties,
  slicePath,
  startArgs,
  stopScope,
  userManagerCgroup,
} from "./systemd.ts";

describe("systemd scope names", () => {
  test.each([
    ["machine.slice:libpod:abc", "machine.slice", "libpod-abc.scope", "/machine.slice/libpod-abc.scope"],
    ["user-1000.slice:x:c1", "user-1000.slice", "x-c1.scope", "/user.slice/user-1000.slice/x-c1.scope"],
    ["-.slice:p:c1", "-.slice", "p-c1.scope", "/p-c1.scope"],
    [":leopard:c1", "system.slice", "leopard-c1.scope", "/system.slice/leopard-c1.scope"],
    ["system.slice::c1", "system.slice", "c1.scope", "/system.slice/c1.scope"],
  ])("%s is the unit %s/%s at %s", (given, slice, unit, path) => {
    expect(parseSystemdPath(given, "id")).toEqual({ slice, unit, path });
  });

  test("no cgroupsPath: leopard-<id>.scope in system.slice", () => {
    expect(parseSystemdPath(undefined, "c9")).toEqual({
      slice: "system.slice",
      unit: "leopard-c9.scope",
      path: "/system.slice/leopard-c9.scope",
    });
  });

  test.each([
    ["/leopard/c1", 'is not "slice:prefix:name"'],
    ["a:b", 'is not "slice:prefix:name"'],
    ["machine:libpod:c1", 'names the slice "machine", not a slice unit'],
    ["a--b.slice:p:c1", `names the slice "a--b.slice", which has an empty part between dashes`],
    ["-a.slice:p:c1", `names the slice "-a.slice", which has an empty part between dashes`],
    ["machine.slice:p:", 'has the name ""'],
    ["machine.slice:p:a/b", 'has the name "a/b"'],
    ["machine.slice:p/q:c1", 'has the prefix "p/q"'],
    ["machine.slice:p:sub.slice", "names a slice as the container's unit"],
  ])("%s is refused: %s", (given, why) => {
    expect(() => parseSystemdPath(given, "id")).toThrow(`linux.cgroupsPath ${JSON.stringify(given)} ${why}`);
  });

  test("rootless: the user manager's scope, default user.slice, under the manager's cgroup (runc's systemd driver)", () => {
    const base = "/user.slice/user-1000.slice/user@1000.service";
    expect(parseSystemdPath(undefined, "c9", { base })).toEqual({
      slice: "user.slice",
      unit: "leopard-c9.scope",
      path: `${base}/user.slice/leopard-c9.scope`,
    });
    expect(parseSystemdPath("app.slice:p:c1", "c1", { base }).path).toBe(`${base}/app.slice/p-c1.scope`);
    expect(parseSystemdPath(":p:c1", "c1", { base }).slice).toBe("user.slice");
  });

  test("the user manager's cgroup: its ControlGroup property; a failure says the user's bus is needed", () => {
    const asked: string[][] = [];
    const run = (args: string[]) => {
      asked.push(args);
      return 's "/user.slice/user-1000.slice/user@1000.service"\n';
    };
    expect(userManagerCgroup(run)).toBe("/user.slice/user-1000.slice/user@1000.service");
    expect(asked).toEqual([
      [
        "get-property",
        "org.freedesktop.systemd1",
        "/org/freedesktop/systemd1",
        "org.freedesktop.systemd1.Manager",
        "ControlGroup",
      ],
    ]);
    const down = () => {
      throw new LeopardError("system", "Failed to connect to bus: No such file or directory");
    };
    expect(() => userManagerCgroup(down)).toThrow(
      "--systemd-cgroup rootless needs the user's systemd manager on the user's D-Bus: Failed to connect to bus: No such file or directory",
    );
    expect(() => userManagerCgroup(() => 's ""\n')).toThrow("names no cgroup of its own");
  });

  test("slicePath nests by dashes", () => {
    expect(slicePath("a-b-c.slice")).toBe("/a.slice/a-b.slice/a-b-c.slice");
  });
});

describe("the D-Bus calls", () => {
  test("StartTransientUnit: a delegated scope in its slice holding the pid", () => {
    const args = startArgs(parseSystemdPath("machine.slice:libpod:c1", "c1"), 4242, "leopard container c1");
    expect(args.slice(0, 6)).toEqual([
      "call",
      "org.freedesktop.systemd1",
      "/org/freedesktop/systemd1",
      "org.freedesktop.systemd1.Manager",
      "StartTransientUnit",
      "ssa(sv)a(sa(sv))",
    ]);
    expect(args.slice(6, 9)).toEqual(["libpod-c1.scope", "replace", "6"]);
    const text = args.join(" ");
    expect(text).toContain("Slice s machine.slice");
    expect(text).toContain("Delegate b true");
    expect(text).toContain("PIDs au 1 4242");
    expect(args.at(-1)).toBe("0");
  });

  test("stopping a scope that is gone already is not an error; other failures are", () => {
    const gone = () => {
      throw new LeopardError("system", "Call failed: Unit leopard-c1.scope not loaded.");
    };
    expect(() => stopScope("leopard-c1.scope", gone)).not.toThrow();
    const denied = () => {
      throw new LeopardError("system", "Call failed: Access denied");
    };
    expect(() => stopScope("leopard-c1.scope", denied)).toThrow(
      'systemd could not stop the scope "leopard-c1.scope": Call failed: Access denied',
    );
  });
});

describe("the limits as the scope's properties", () => {
  const res = (other: Record<string, unknown>) => readResources({ devices: [], other });

  test("memory, pids, cpu weight and quota, converted as runc converts them", () => {
    const r = res({
      memory: { limit: 64 << 20 },
      pids: { limit: -1 },
      cpu: { shares: 1024, quota: 12345, period: 100000 },
    });
    expect(scopeProperties(r, true)).toEqual([
      ["MemoryMax", "t", String(64 << 20)],
      ["TasksMax", "t", "18446744073709551615"],
      ["CPUWeight", "t", "100"],
      ["CPUQuotaPeriodUSec", "t", "100000"],
      // 123450 µs a second, rounded up to systemd's 10 ms steps.
      ["CPUQuotaPerSecUSec", "t", "130000"],
    ]);
    expect(scopeProperties(r, false)).toContainEqual(["CPUShares", "t", "1024"]);
  });

  test("nothing set, nothing passed; update sends what it sets, at runtime", () => {
    expect(scopeProperties(res({}), true)).toEqual([]);
    const calls: string[][] = [];
    setScopeProperties("x.scope", [["TasksMax", "t", "30"]], (a) => {
      calls.push(a);
      return "";
    });
    expect(calls).toEqual([
      [
        "call",
        "org.freedesktop.systemd1",
        "/org/freedesktop/systemd1",
        "org.freedesktop.systemd1.Manager",
        "SetUnitProperties",
        "sba(sv)",
        "x.scope",
        "true",
        "1",
        "TasksMax",
        "t",
        "30",
      ],
    ]);
    setScopeProperties("x.scope", [], () => {
      throw new Error("no call expected");
    });
  });
});
