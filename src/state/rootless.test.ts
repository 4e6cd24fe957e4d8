import { describe, expect, test } from "bun:test";
import { LeopardError } from "../util/errors.ts";
import { type CallerIdentity, defaultStateRoot, isInitialUidMap, rootlessMode } from "./rootless.ts";

const hostRoot: CallerIdentity = { euid: 0, egid: 0, inUserNamespace: false };
const user: CallerIdentity = { euid: 1001, egid: 1001, inUserNamespace: false };
const nsRoot: CallerIdentity = { euid: 0, egid: 0, inUserNamespace: true };

describe("rootless facts", () => {
  test.each([
    ["         0          0 4294967295\n", true],
    ["0 0 4294967295", true],
    ["         0       1001          1\n", false],
    ["0 1001 1\n1 100000 65536\n", false],
    ["0 0 65536\n", false],
  ])("uid_map %j is the host's namespace: %p", (text, initial) => {
    expect(isInitialUidMap(text)).toBe(initial);
  });

  test.each([
    [undefined, hostRoot, false],
    [undefined, user, true],
    [undefined, nsRoot, true],
    ["auto", nsRoot, true],
    ["true", hostRoot, true],
    ["false", user, false],
  ] as const)("--rootless %p for %j is %p", (flag, who, want) => {
    expect(rootlessMode(flag, who)).toBe(want);
  });

  test("--rootless with another value is refused in one line", () => {
    expect(() => rootlessMode("yes", user)).toThrow(/--rootless "yes" must be true, false or auto/);
  });

  test.each([
    [
      "the host's root keeps /run/leopard, XDG_RUNTIME_DIR or not",
      { XDG_RUNTIME_DIR: "/run/user/0" },
      hostRoot,
      "/run/leopard",
    ],
    ["the host's root without XDG_RUNTIME_DIR", {}, hostRoot, "/run/leopard"],
    [
      "a user: $XDG_RUNTIME_DIR/leopard",
      { XDG_RUNTIME_DIR: "/run/user/1001/" },
      user,
      "/run/user/1001/leopard",
    ],
    [
      "uid 0 in rootless podman's namespace",
      { XDG_RUNTIME_DIR: "/run/user/1001", USER: "rl" },
      nsRoot,
      "/run/user/1001/leopard",
    ],
    [
      "uid 0 in a namespace with USER=root keeps /run/leopard",
      { XDG_RUNTIME_DIR: "/run/user/0", USER: "root" },
      nsRoot,
      "/run/leopard",
    ],
    ["uid 0 in a namespace without XDG_RUNTIME_DIR", {}, nsRoot, "/run/leopard"],
  ] as const)("state root: %s", (_, env, who, want) => {
    expect(defaultStateRoot(env, who)).toBe(want);
  });

  test("a user without XDG_RUNTIME_DIR gets a one-line error naming it", () => {
    let err: unknown;
    try {
      defaultStateRoot({}, user);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LeopardError);
    expect((err as Error).message).toMatch(/XDG_RUNTIME_DIR is not set/);
    expect((err as Error).message).not.toContain("\n");
  });
});
