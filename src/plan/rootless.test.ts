import { describe, expect, test } from "bun:test";
import type { Op } from "../protocol/ops.ts";
import { LeopardError } from "../util/errors.ts";
import { type HostFacts, type PlanSpec, plan } from "./plan.ts";
import { checkRootless, type RootlessHost } from "./rootless.ts";
import { planInput, TEST_HOST } from "./testing.ts";

const user: RootlessHost = { euid: 1001, egid: 1001, oomScoreAdj: 0, hardLimits: { RLIMIT_NOFILE: 20000n } };
const nsRoot: RootlessHost = { ...user, euid: 0 };

function spec(
  over: Partial<PlanSpec["process"]> = {},
  linux: NonNullable<PlanSpec["linux"]> = {},
  mounts?: PlanSpec["mounts"],
): PlanSpec {
  return {
    process: { user: { uid: 0, gid: 0 }, args: ["sh"], env: ["PATH=/bin"], cwd: "/", ...over },
    root: { path: "/r" },
    mounts: mounts ?? [
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/dev", type: "tmpfs", source: "tmpfs" },
    ],
    linux: {
      namespaces: [{ type: "pid" }, { type: "mount" }, { type: "user" }],
      uidMappings: [{ containerID: 0, hostID: 1001, size: 1 }],
      gidMappings: [{ containerID: 0, hostID: 1001, size: 1 }],
      ...linux,
    },
  };
}

const host = (rootless: RootlessHost | undefined): HostFacts => ({
  ...TEST_HOST,
  ...(rootless ? { rootless } : {}),
});
const ops = (s: PlanSpec, r: RootlessHost | undefined): Op[] =>
  plan(planInput(s, { host: host(r) })).steps.map((x) => x.op);

function refusal(s: PlanSpec, r: RootlessHost, userns = true): string {
  try {
    checkRootless(s, r, userns);
  } catch (e) {
    expect(e).toBeInstanceOf(LeopardError);
    return (e as Error).message;
  }
  return "";
}

describe("what a rootless runtime refuses up front (runc's rules)", () => {
  test.each([
    [
      "a user's config without a user namespace",
      spec(),
      user,
      false,
      /a rootless container needs a user namespace/,
    ],
    [
      "supplementary groups for a user",
      spec({ user: { uid: 0, gid: 0, additionalGids: [5] } }),
      user,
      true,
      /process\.user\.additionalGids: a rootless container whose gid map is the user.s own gid alone cannot set supplementary groups/,
    ],
    [
      "a lower oom_score_adj",
      spec({ oomScoreAdj: -500 }),
      nsRoot,
      true,
      /process\.oomScoreAdj -500 is below the caller's 0/,
    ],
    [
      "a hard limit above the caller's",
      spec({ rlimits: [{ type: "RLIMIT_NOFILE", soft: 1, hard: 1048576 }] }),
      user,
      true,
      /RLIMIT_NOFILE hard 1048576 is above the caller's 20000/,
    ],
    [
      "a block device's filesystem",
      spec({}, {}, [{ destination: "/home", type: "ext4", source: "/dev/vda" }]),
      nsRoot,
      true,
      /mount "\/home" of type "ext4": a rootless container can only mount/,
    ],
  ] as const)("%s", (_, s, r, userns, re) => {
    const m = refusal(s, r, userns);
    expect(m).toMatch(re);
    expect(m).not.toContain("\n");
  });

  test.each([
    ["uid 0 in podman's namespace needs no user namespace of its own", spec(), nsRoot, false],
    [
      "supplementary groups as uid 0 of a namespace",
      spec({ user: { uid: 0, gid: 0, additionalGids: [5] } }),
      nsRoot,
      true,
    ],
    [
      "supplementary groups for a user with subordinate gids (newgidmap)",
      spec(
        { user: { uid: 0, gid: 0, additionalGids: [5] } },
        {
          gidMappings: [
            { containerID: 0, hostID: 1001, size: 1 },
            { containerID: 1, hostID: 100000, size: 65536 },
          ],
        },
      ),
      user,
      true,
    ],
    ["a higher oom_score_adj", spec({ oomScoreAdj: 500 }), user, true],
    ["a lower hard limit", spec({ rlimits: [{ type: "RLIMIT_NOFILE", soft: 100, hard: 100 }] }), user, true],
    [
      "proc, tmpfs, sysfs, devpts, mqueue, cgroup, fuse.*, bind mounts",
      spec(
        {},
        {},
        ["proc", "tmpfs", "sysfs", "devpts", "mqueue", "cgroup", "fuse.sshfs"]
          .map((t) => ({ destination: `/${t}`, type: t, source: t }))
          .concat([{ destination: "/b", type: "none", source: "/x", options: ["rbind"] } as never]),
      ),
      user,
      true,
    ],
  ] as const)("allowed: %s", (_, s, r, userns) => {
    expect(refusal(s, r, userns)).toBe("");
  });
});

describe("the rootless plan", () => {
  test("the helper is dumpable only while the parent writes the maps (its /proc files are then the user's)", () => {
    const o = ops(spec(), user).map((x) =>
      x.op === "PRCTL" ? `PRCTL ${x.option}=${x.arg}` : x.op === "SYNC" ? `SYNC ${x.tag}` : x.op,
    );
    const i = o.indexOf("SYNC 1");
    expect(o.slice(i - 1, i + 2)).toEqual(["PRCTL 4=1", "SYNC 1", "PRCTL 4=0"]);
    const asRoot = ops(spec(), undefined).filter((x) => x.op === "PRCTL" && x.option === 4);
    expect(asRoot).toEqual([]);
  });

  test("device nodes are bound from the host, never made with mknod, even without a user namespace in the config", () => {
    const podmanLike = spec(
      {},
      { namespaces: [{ type: "pid" }, { type: "mount" }], uidMappings: [], gidMappings: [] },
    );
    const o = ops(podmanLike, nsRoot);
    expect(o.some((x) => x.op === "MKNOD")).toBe(false);
    expect(o.some((x) => x.op === "MOUNT" && x.source === "/dev/null" && x.target === "/dev/null")).toBe(
      true,
    );
    expect(ops(podmanLike, undefined).some((x) => x.op === "MKNOD")).toBe(true);
  });

  test("a user sets no groups with a map of its own gid alone (setgroups is denied); with newgidmap's maps and as uid 0 of a namespace it does", () => {
    expect(ops(spec(), user).some((x) => x.op === "SETGROUPS")).toBe(false);
    const sub = spec(
      {},
      {
        gidMappings: [
          { containerID: 0, hostID: 1001, size: 1 },
          { containerID: 1, hostID: 100000, size: 65536 },
        ],
      },
    );
    expect(ops(sub, user).some((x) => x.op === "SETGROUPS")).toBe(true);
    expect(ops(spec(), nsRoot).some((x) => x.op === "SETGROUPS")).toBe(true);
    expect(ops(spec(), undefined).some((x) => x.op === "SETGROUPS")).toBe(true);
  });

  test("sysfs with the host's network is bound, not mounted, rootless", () => {
    const s = spec(
      {},
      { namespaces: [{ type: "pid" }, { type: "mount" }], uidMappings: [], gidMappings: [] },
      [{ destination: "/sys", type: "sysfs", source: "sysfs", options: ["ro"] }],
    );
    const sys = ops(s, nsRoot).filter((x) => x.op === "MOUNT" && x.target === "/sys");
    expect(sys[0]).toMatchObject({ source: "/sys", fstype: "" });
    const asRoot = ops(s, undefined).filter((x) => x.op === "MOUNT" && x.target === "/sys");
    expect(asRoot[0]).toMatchObject({ fstype: "sysfs" });
  });

  test("oom_score_adj is written while dumpable, rootless", () => {
    const o = ops(spec({ oomScoreAdj: 100 }), user).map((x) => (x.op === "PRCTL" ? `PRCTL ${x.arg}` : x.op));
    const i = o.indexOf("WRITE_PROC");
    expect(o.slice(i - 1, i + 2)).toEqual(["PRCTL 1", "WRITE_PROC", "PRCTL 0"]);
  });
});
