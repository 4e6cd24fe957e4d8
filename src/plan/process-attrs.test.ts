import { describe, expect, test } from "bun:test";
import type { Op } from "../protocol/ops.ts";
import { type PlanInput, type PlanSpec, plan } from "./plan.ts";
import {
  capabilitiesBeyond,
  ioprioValue,
  personaValue,
  schedFlags,
  schedPolicy,
  sysctlPath,
} from "./process-attrs.ts";
import { planInput, TEST_HOST } from "./testing.ts";

function input(
  process: Partial<PlanSpec["process"]>,
  linux: NonNullable<PlanSpec["linux"]> = {},
  capLast = 40,
): PlanInput {
  const spec: PlanSpec = {
    process: { user: { uid: 0, gid: 0 }, args: ["sh"], env: [], cwd: "/", ...process },
    root: { path: "/r" },
    mounts: [{ destination: "/proc", type: "proc", source: "proc" }],
    linux: { namespaces: [{ type: "pid" }, { type: "mount" }, { type: "ipc" }], ...linux },
  };
  return planInput(spec, { host: { ...TEST_HOST, capLast } });
}
const names = (ops: Op[]): string[] => ops.map((o) => o.op);

describe("process attributes in the plan", () => {
  test("sysctl names become paths beneath /proc, with the slash form's dots kept", () => {
    expect(sysctlPath("kernel.shmmax")).toBe("sys/kernel/shmmax");
    expect(sysctlPath("net/ipv4/conf/eno2.100/rp_filter")).toBe("sys/net/ipv4/conf/eno2.100/rp_filter");
    expect(sysctlPath("net.ipv4.conf.eno2/100.rp_filter")).toBe("sys/net/ipv4/conf/eno2.100/rp_filter");
  });

  test("a sysctl key that would leave its file never becomes a path", () => {
    expect(() => sysctlPath("net/../kernel/core_pattern")).toThrow('has a ".." component');
  });

  test("personality, I/O priority and scheduler values are the kernel's numbers", () => {
    expect(personaValue({ domain: "LINUX32" })).toEqual({ persona: 8, unknown: [] });
    expect(personaValue({ domain: "LINUX", flags: ["ADDR_NO_RANDOMIZE", "BOGUS"] })).toEqual({
      persona: 0x40000,
      unknown: ["BOGUS"],
    });
    expect(ioprioValue({ class: "IOPRIO_CLASS_BE", priority: 4 })).toBe((2 << 13) | 4);
    expect(schedPolicy("SCHED_DEADLINE")).toBe(6);
    expect(schedFlags(["SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_KEEP_PARAMS"])).toBe(0x11);
  });

  test("oom_score_adj is written first, sysctls after pivot_root and before /proc/sys turns read-only", () => {
    const p = plan(
      input({ oomScoreAdj: 500 }, { sysctl: { "kernel.shmmax": "1" }, readonlyPaths: ["/proc/sys"] }),
    );
    const ops = p.steps.map((s) => s.op);
    expect(ops[1]).toEqual({ op: "WRITE_PROC", path: "self/oom_score_adj", data: "500", resolve: 0x0b });
    const sysctl = ops.findIndex((o) => o.op === "WRITE_PROC" && o.path === "sys/kernel/shmmax");
    // /proc/sys files are opened with no symlink followed at all.
    expect(ops[sysctl]).toMatchObject({ resolve: 0x0f });
    const pivot = ops.findIndex((o) => o.op === "PIVOT_ROOT");
    const ro = ops.findIndex((o) => o.op === "MOUNT" && o.target === "/proc/sys");
    expect(pivot).toBeLessThan(sysctl);
    expect(sysctl).toBeLessThan(ro);
  });

  test("personality, ioprio and scheduler come before capabilities are dropped and before seccomp", () => {
    const p = plan({
      ...input(
        {
          ioPriority: { class: "IOPRIO_CLASS_RT", priority: 1 },
          scheduler: {
            policy: "SCHED_OTHER",
            nice: -3,
            priority: 0,
            flags: [],
            runtime: 0,
            deadline: 0,
            period: 0,
          },
        },
        { personality: { domain: "LINUX32" } },
      ),
      seccomp: { bpf: new Uint8Array(8), flags: 0n },
    });
    const n = names(p.steps.map((s) => s.op));
    const at = (x: string) => n.indexOf(x);
    for (const x of ["PERSONALITY", "IOPRIO", "SCHED"]) {
      expect(at(x)).toBeGreaterThan(at("PIVOT_ROOT"));
      expect(at(x)).toBeLessThan(at("SECCOMP"));
      expect(at(x)).toBeLessThan(at("CAP_BOUNDING"));
    }
    const sched = p.steps.find((s) => s.op.op === "SCHED")?.op;
    expect(sched).toMatchObject({ policy: 0, nice: 2 ** 32 - 3 });
  });

  test("capabilities the running kernel lacks are reported as warnings and left out of the masks", () => {
    const caps = { bounding: ["CAP_CHOWN", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"], permitted: ["CAP_BPF"] };
    expect(capabilitiesBeyond(caps, 38)).toEqual(["CAP_BPF", "CAP_CHECKPOINT_RESTORE"]);
    const p = plan(input({ capabilities: caps }, {}, 38));
    expect(p.warnings).toEqual([
      "capabilities unknown to the running kernel (cap_last_cap 38) are ignored: CAP_BPF, CAP_CHECKPOINT_RESTORE",
    ]);
    const bounding = p.steps.find((s) => s.op.op === "CAP_BOUNDING")?.op;
    expect(bounding).toMatchObject({ mask: 1n, last: 38 });
    expect(plan(input({ capabilities: caps }, {}, 40)).warnings).toBeUndefined();
  });

  test("LSM exec labels are written after the credentials, before a no_new_privs seccomp filter", () => {
    const p = plan({
      ...input({ noNewPrivileges: true }),
      seccomp: { bpf: new Uint8Array(8), flags: 0n },
      lsmExec: [{ path: "thread-self/attr/apparmor/exec", data: "exec prof" }],
    });
    const ops = p.steps.map((s) => s.op);
    const w = ops.findIndex((o) => o.op === "WRITE_PROC" && o.data === "exec prof");
    expect(w).toBeGreaterThan(ops.findIndex((o) => o.op === "CAPS"));
    expect(w).toBeLessThan(ops.findIndex((o) => o.op === "SECCOMP"));
  });
});
