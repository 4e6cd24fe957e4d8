import { describe, expect, test } from "bun:test";
import { type RootlessFacts, rootlessIds, rootlessRootfsAsked, subRange } from "./rootless.ts";

const facts: RootlessFacts = {
  name: "alice",
  uid: 1001,
  gid: 1002,
  subuid: "bob:100000:65536\nalice:165536:65536\n",
  subgid: "1001:300000:1000\n",
  newuidmap: true,
  newgidmap: true,
};

describe("a rootless container's maps", () => {
  test("root is the user, 1… its first subordinate range (by name or by uid)", () => {
    expect(rootlessIds(facts)).toEqual({
      uidMappings: [
        { containerID: 0, hostID: 1001, size: 1 },
        { containerID: 1, hostID: 165536, size: 65536 },
      ],
      gidMappings: [
        { containerID: 0, hostID: 1002, size: 1 },
        { containerID: 1, hostID: 300000, size: 1000 },
      ],
    });
  });

  test.each([
    [
      "no newuidmap",
      { newuidmap: false },
      /need newuidmap, which is not installed \(as root: apt-get install uidmap\)/,
    ],
    ["no newgidmap", { newgidmap: false }, /need newgidmap/],
    [
      "no /etc/subuid entry",
      { subuid: "bob:100000:65536\n" },
      /\/etc\/subuid has no entry for "alice" \(as root: usermod --add-subuids 100000-165535 alice\)/,
    ],
    [
      "no /etc/subgid file",
      { subgid: "" },
      /\/etc\/subgid has no entry for "alice" \(as root: usermod --add-subgids/,
    ],
    ["an entry of zero ids", { subuid: "alice:100000:0\n" }, /\/etc\/subuid has no entry/],
  ] as const)("%s is one line naming the missing piece", (_, over, re) => {
    expect(() => rootlessIds({ ...facts, ...over })).toThrow(re);
  });

  test("subRange skips comments and other users", () => {
    expect(subRange("# x\ncarol:1:2\n", "alice", 1001)).toBeUndefined();
    expect(subRange("alice:5:6", "alice", 1001)).toEqual({ start: 5, count: 6 });
  });
});

describe("LEOPARD_ROOTLESS_ROOTFS", () => {
  test("unset, empty or auto: the fallback order; a driver by name; anything else refused in one line", () => {
    expect(rootlessRootfsAsked(undefined)).toBeUndefined();
    expect(rootlessRootfsAsked("")).toBeUndefined();
    expect(rootlessRootfsAsked("auto")).toBeUndefined();
    expect(rootlessRootfsAsked("overlay")).toBe("overlay");
    expect(rootlessRootfsAsked("fuse-overlayfs")).toBe("fuse-overlayfs");
    expect(rootlessRootfsAsked("copy")).toBe("copy");
    expect(() => rootlessRootfsAsked("vfs")).toThrow(
      'LEOPARD_ROOTLESS_ROOTFS="vfs" is not one of auto, overlay, fuse-overlayfs, copy',
    );
  });
});
