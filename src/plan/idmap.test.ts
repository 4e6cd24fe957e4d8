import { describe, expect, test } from "bun:test";
import { idmapOptionText, idmapRequests } from "./idmap.ts";
import { MOUNT_ATTR, parseMountOptions, supportedMountOptions } from "./mount-options.ts";
import { type PlanSpec, plan } from "./plan.ts";
import { planInput } from "./testing.ts";
import type { PlanMount } from "./types.ts";

const maps = [{ containerID: 1000, hostID: 100000, size: 1 }];
const userns = [{ containerID: 0, hostID: 100000, size: 65536 }];

function spec(mounts: PlanMount[], withUserns = false): PlanSpec {
  return {
    process: { user: { uid: 0, gid: 0 }, args: ["sh"], env: [], cwd: "/" },
    root: { path: "/r" },
    mounts,
    linux: withUserns
      ? { namespaces: [{ type: "mount" }, { type: "user" }], uidMappings: userns, gidMappings: userns }
      : { namespaces: [{ type: "mount" }] },
  };
}

function planOf(s: PlanSpec, idmapFds?: Map<number, number>) {
  return plan(planInput(s, { idmapFds }));
}

describe("mount options for mount_setattr", () => {
  test.each([
    [["rro"], MOUNT_ATTR.RDONLY, 0],
    [["rro", "rrw"], 0, MOUNT_ATTR.RDONLY],
    [["rnosuid", "rnodev", "rnoexec"], MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC, 0],
    [["rnoatime"], MOUNT_ATTR.NOATIME, MOUNT_ATTR.ATIME_MASK],
    [["rnoatime", "rrelatime"], MOUNT_ATTR.RELATIME, MOUNT_ATTR.ATIME_MASK],
    [["rnosymfollow"], MOUNT_ATTR.NOSYMFOLLOW, 0],
  ])("%p sets %d and clears %d, recursively", (options, set, clear) => {
    expect(parseMountOptions(options).recursiveAttr).toEqual({ set, clear });
  });

  test("idmap and ridmap are options of their own, never filesystem data; ridmap wins", () => {
    expect(parseMountOptions(["rbind", "idmap"])).toMatchObject({ idmap: "idmap", data: [] });
    expect(parseMountOptions(["idmap", "ridmap", "idmap"])).toMatchObject({ idmap: "ridmap", data: [] });
  });

  test("the recursive atime undo options are refused rather than guessed", () => {
    expect(() => parseMountOptions(["ratime"])).toThrow('mount option "ratime" is not supported yet');
  });

  test("features lists rro, idmap and ridmap only with mount_setattr", () => {
    expect(supportedMountOptions(true)).toEqual(
      expect.arrayContaining(["rro", "rnosuid", "idmap", "ridmap"]),
    );
    expect(supportedMountOptions(false).filter((o) => o === "rro" || o.endsWith("idmap"))).toEqual([]);
  });
});

describe("idmapRequests", () => {
  test("a bind mount with maps of its own is idmapped with them; rbind and ridmap set how deep", () => {
    const s = spec([
      {
        destination: "/a",
        type: "bind",
        source: "/src",
        options: ["bind", "idmap"],
        uidMappings: maps,
        gidMappings: maps,
      },
      { destination: "/b", source: "/x", options: ["rbind", "ro"] },
      {
        destination: "/c",
        source: "/src2",
        options: ["rbind", "ridmap"],
        uidMappings: maps,
        gidMappings: maps,
      },
    ]);
    expect(idmapRequests(s)).toEqual([
      {
        index: 0,
        source: "/src",
        destination: "/a",
        recursiveBind: false,
        recursiveIdmap: false,
        uidMappings: maps,
        gidMappings: maps,
      },
      {
        index: 2,
        source: "/src2",
        destination: "/c",
        recursiveBind: true,
        recursiveIdmap: true,
        uidMappings: maps,
        gidMappings: maps,
      },
    ]);
  });

  test("idmap without maps takes the user namespace's the container creates", () => {
    const s = spec([{ destination: "/a", source: "/src", options: ["rbind", "idmap"] }], true);
    expect(idmapRequests(s)[0]).toMatchObject({ uidMappings: userns, gidMappings: userns });
  });

  test("idmap without maps and without a user namespace is refused, naming the mount", () => {
    const s = spec([{ destination: "/a", source: "/src", options: ["rbind", "idmap"] }]);
    expect(() => idmapRequests(s)).toThrow(
      'mount "/a": "idmap" without uidMappings/gidMappings needs a user namespace the container creates',
    );
  });

  test("maps on a mount that is not a bind are refused", () => {
    const s = spec([
      { destination: "/a", type: "tmpfs", source: "tmpfs", uidMappings: maps, gidMappings: maps },
    ]);
    expect(() => idmapRequests(s)).toThrow('mount "/a": idmapped mounts must be bind mounts');
  });

  test("explanations use util-linux's X-mount.idmap syntax", () => {
    expect(idmapOptionText(maps, maps)).toBe("u:1000:100000:1 g:1000:100000:1");
  });
});

describe("the plan for idmapped and recursive mounts", () => {
  test("an idmapped bind is attached from its inherited fd, then remounted and made rro like any bind", () => {
    const s = spec([
      {
        destination: "/a",
        type: "bind",
        source: "/src",
        options: ["rbind", "idmap", "nosuid", "rro"],
        uidMappings: maps,
        gidMappings: maps,
      },
    ]);
    const ops = planOf(s, new Map([[0, 7]])).steps.map((st) => st.op);
    const i = ops.findIndex((o) => o.op === "MOVE_MOUNT");
    expect(ops[i]).toEqual({ op: "MOVE_MOUNT", fd: 7, target: "/a", resolve: 1 });
    expect(ops.some((o) => o.op === "MOUNT" && o.target === "/a" && o.source === "/src")).toBe(false);
    expect(ops[i + 1]).toMatchObject({ op: "MOUNT", target: "/a", flags: 4096 | 32 | 2 });
    expect(ops[i + 2]).toEqual({
      op: "MOUNT_SETATTR",
      target: "/a",
      set: MOUNT_ATTR.RDONLY,
      clear: 0,
      recursive: 1,
    });
  });

  test("an idmapped mount with no prepared fd is a planning error, never a plain bind", () => {
    const s = spec([
      {
        destination: "/a",
        source: "/src",
        options: ["rbind", "idmap"],
        uidMappings: maps,
        gidMappings: maps,
      },
    ]);
    expect(() => planOf(s)).toThrow('mount "/a": idmapped, but no detached mount was prepared for it');
  });

  test("rro on a plain rbind follows the bind and its remount", () => {
    const s = spec([{ destination: "/a", source: "/src", options: ["rbind", "rro"] }]);
    const steps = planOf(s).steps.filter((st) => "target" in st.op && st.op.target === "/a");
    expect(steps.map((st) => st.op.op)).toEqual(["MOUNT", "MOUNT_SETATTR"]);
    expect(steps[1]?.explain).toBe("# mount_setattr(AT_RECURSIVE) rro on /r/a and every mount below it");
  });
});
