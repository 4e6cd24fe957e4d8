import { describe, expect, test } from "bun:test";
import type { Op } from "../protocol/ops.ts";
import { MountResolve } from "../protocol/ops.ts";
import { MS } from "./mount-options.ts";
import { overlayData } from "./mounts.ts";
import { type PlanSpec, plan } from "./plan.ts";
import { planInput, TEST_HOST } from "./testing.ts";

const layers = { lower: ["/s/l2", "/s/l1"], upper: "/c/upper", work: "/c/work" };

function spec(userns: boolean): PlanSpec {
  return {
    process: { user: { uid: 0, gid: 0 }, args: ["sh"], env: ["PATH=/bin"], cwd: "/" },
    root: { path: "/c/merged" },
    mounts: [{ destination: "/proc", type: "proc", source: "proc" }],
    linux: {
      namespaces: [{ type: "pid" }, { type: "mount" }, ...(userns ? [{ type: "user" as const }] : [])],
      ...(userns
        ? {
            uidMappings: [{ containerID: 0, hostID: 1001, size: 1 }],
            gidMappings: [{ containerID: 0, hostID: 1001, size: 1 }],
          }
        : {}),
    },
  };
}

const mounts = (userns: boolean, overlay = true): Extract<Op, { op: "MOUNT" }>[] =>
  plan(planInput(spec(userns), { rootfs: "/c/merged", ...(overlay ? { rootfsOverlay: layers } : {}) }))
    .steps.map((s) => s.op)
    .filter((o): o is Extract<Op, { op: "MOUNT" }> => o.op === "MOUNT");

describe("the root as an overlay (org.leopard.rootfs.overlay)", () => {
  test("in a user namespace: one overlay mount on the rootfs with userxattr, in place of the rbind, before /proc", () => {
    const m = mounts(true);
    expect(m[1]).toEqual({
      op: "MOUNT",
      source: "overlay",
      target: "/c/merged",
      fstype: "overlay",
      flags: 0,
      data: "lowerdir=/s/l2:/s/l1,upperdir=/c/upper,workdir=/c/work,userxattr",
      resolve: MountResolve.AS_GIVEN,
    });
    expect(m.some((x) => (Number(x.flags) & MS.BIND) !== 0 && x.target === "/c/merged")).toBe(false);
    expect(m[2]?.target).toBe("/proc");
  });

  test("without a user namespace: trusted xattrs (no userxattr); without the annotation: the rbind", () => {
    expect(mounts(false)[1]?.data).toBe("lowerdir=/s/l2:/s/l1,upperdir=/c/upper,workdir=/c/work");
    const plain = mounts(true, false)[1];
    expect(plain).toMatchObject({ source: "/c/merged", target: "/c/merged", flags: MS.BIND | MS.REC });
  });

  test("rootless without a user namespace of the config's own still gets userxattr", () => {
    const host = { ...TEST_HOST, rootless: { euid: 0, egid: 0, oomScoreAdj: 0, hardLimits: {} } };
    const ops = plan(planInput(spec(true), { rootfs: "/c/merged", rootfsOverlay: layers, host })).steps;
    expect(ops.some((s) => s.op.op === "MOUNT" && String(s.op.data).endsWith(",userxattr"))).toBe(true);
  });

  test("option text longer than one page is refused in one line", () => {
    const many = { ...layers, lower: Array.from({ length: 400 }, (_, i) => `/snapshots/${i}/fs`) };
    expect(() => overlayData(many, true)).toThrow(/past the 4095 of one mount/);
  });
});

describe("the root mounted already by fuse-overlayfs (org.leopard.rootfs.mountns)", () => {
  const joined: PlanSpec = {
    ...spec(false),
    linux: { namespaces: [{ type: "pid" }, { type: "mount" }, { type: "user", path: "/proc/77/ns/user" }] },
  };
  const fuse = { ...layers, mountedIn: "/proc/77/ns/mnt" };

  test("the user namespace joined, then fuse-overlayfs's mount namespace, then the new one unshared from it; no overlay mount, the rbind", () => {
    const ops = plan(planInput(joined, { rootfs: "/c/merged", rootfsOverlay: fuse })).steps.map((s) => s.op);
    const setns = ops.flatMap((o, i) => (o.op === "SETNS" ? [{ i, path: o.path }] : []));
    expect(setns.map((x) => x.path)).toEqual(["/proc/77/ns/user", "/proc/77/ns/mnt"]);
    const unshare = ops.findIndex((o) => o.op === "UNSHARE");
    expect(unshare).toBeGreaterThan(setns[1]?.i ?? Number.POSITIVE_INFINITY);
    const m = ops.filter((o): o is Extract<Op, { op: "MOUNT" }> => o.op === "MOUNT");
    expect(m.some((x) => x.fstype === "overlay")).toBe(false);
    expect(m[1]).toMatchObject({ source: "/c/merged", target: "/c/merged", flags: MS.BIND | MS.REC });
  });

  test("without a mount namespace the container creates: refused in one line", () => {
    const noMnt: PlanSpec = {
      ...joined,
      linux: { namespaces: [{ type: "pid" }, { type: "user", path: "/proc/77/ns/user" }] },
    };
    expect(() => plan(planInput(noMnt, { rootfs: "/c/merged", rootfsOverlay: fuse }))).toThrow(
      'annotation "org.leopard.rootfs.mountns" needs a mount namespace the container creates',
    );
  });
});
