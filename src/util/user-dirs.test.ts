import { describe, expect, test } from "bun:test";
import { runDir, storageDir } from "./user-dirs.ts";

describe("the engine's directories for root and for a user", () => {
  test.each([
    ["root: the system storage", {}, false, "/var/lib/leopard"],
    ["root ignores XDG_DATA_HOME", { XDG_DATA_HOME: "/home/a/.data" }, false, "/var/lib/leopard"],
    ["LEOPARD_STORAGE wins for anyone", { LEOPARD_STORAGE: "/s", HOME: "/home/a" }, true, "/s"],
    [
      "a user: $XDG_DATA_HOME/leopard",
      { XDG_DATA_HOME: "/home/a/.data/", HOME: "/home/a" },
      true,
      "/home/a/.data/leopard",
    ],
    [
      "a user without XDG_DATA_HOME: ~/.local/share/leopard",
      { HOME: "/home/a" },
      true,
      "/home/a/.local/share/leopard",
    ],
    [
      "a relative XDG_DATA_HOME is ignored (the XDG spec)",
      { XDG_DATA_HOME: "rel", HOME: "/home/a" },
      true,
      "/home/a/.local/share/leopard",
    ],
  ] as const)("storage: %s", (_, env, rootless, want) => {
    expect(storageDir(env, rootless)).toBe(want);
  });

  test.each([
    ["root: /run/leopard-engine", { XDG_RUNTIME_DIR: "/run/user/0" }, false, "/run/leopard-engine"],
    ["LEOPARD_RUN wins", { LEOPARD_RUN: "/r" }, true, "/r"],
    [
      "a user: $XDG_RUNTIME_DIR/leopard-engine",
      { XDG_RUNTIME_DIR: "/run/user/1001" },
      true,
      "/run/user/1001/leopard-engine",
    ],
  ] as const)("run directory: %s", (_, env, rootless, want) => {
    expect(runDir(env, rootless)).toBe(want);
  });

  test("a user without HOME or XDG_DATA_HOME, or without XDG_RUNTIME_DIR, gets one line naming the variable", () => {
    expect(() => storageDir({}, true)).toThrow(/neither XDG_DATA_HOME nor HOME is set/);
    expect(() => runDir({}, true)).toThrow(/XDG_RUNTIME_DIR is not set/);
  });
});
