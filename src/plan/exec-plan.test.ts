import { describe, expect, test } from "bun:test";
import type { Op } from "../protocol/ops.ts";
import { FD, SyncTag } from "../protocol/ops.ts";
import { type ExecPlanInput, execCapabilities, planExec } from "./exec-plan.ts";

const proc: ExecPlanInput["process"] = {
  user: { uid: 1000, gid: 1000, additionalGids: [10, 20] },
  args: ["sh", "-c", "id"],
  env: ["PATH=/bin"],
  cwd: "/tmp",
  capabilities: { bounding: ["CAP_KILL"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"] },
};

function input(over: Partial<ExecPlanInput> = {}): ExecPlanInput {
  return {
    process: proc,
    namespaces: [
      { type: "mount", path: "/proc/self/fd/5" },
      { type: "pid", path: "/proc/self/fd/6" },
      { type: "user", path: "/proc/self/fd/7" },
      { type: "network", path: "/proc/self/fd/8" },
    ],
    mode: "foreground",
    console: { kind: "none" },
    preserveFds: 0,
    capLast: 40,
    ...over,
  };
}

const ops = (over: Partial<ExecPlanInput> = {}): Op[] => planExec(input(over)).map((s) => s.op);
const names = (over: Partial<ExecPlanInput> = {}): string[] => ops(over).map((o) => o.op);
const find = <N extends Op["op"]>(list: Op[], name: N) =>
  list.filter((o): o is Extract<Op, { op: N }> => o.op === name);

describe("planExec", () => {
  test("the container's oom_score_adj is written first, while still host root, as runc does for exec", () => {
    const o = ops({ oomScoreAdj: 500 });
    expect(o[1]).toEqual({
      op: "WRITE_PROC",
      path: "self/oom_score_adj",
      data: "500",
      resolve: expect.any(Number),
    });
    expect(ops().some((x) => x.op === "WRITE_PROC")).toBe(false);
  });

  test("HOME comes from the user's home when the process has none", () => {
    expect(find(ops({ home: "/home/user" }), "EXEC")[0]?.env).toEqual(["PATH=/bin", "HOME=/home/user"]);
    expect(find(ops(), "EXEC")[0]?.env).toEqual(["PATH=/bin"]);
  });

  test("the cgroup sync comes first, then the user namespace, the others, and the mount namespace last", () => {
    const o = ops();
    expect(o[1]).toEqual({ op: "SYNC", tag: SyncTag.CGROUP });
    expect(find(o, "SETNS").map((s) => s.path)).toEqual([
      "/proc/self/fd/7",
      "/proc/self/fd/8",
      "/proc/self/fd/6",
      "/proc/self/fd/5",
    ]);
  });

  test("joining by fds: JOIN_CGROUP per v1 hierarchy instead of sync 2; without a cgroup2 directory the order is unchanged", () => {
    const o = ops({ cgroupJoin: { tasks: [9, 10] } });
    expect(o.slice(1, 3)).toEqual([
      { op: "JOIN_CGROUP", fd: 9 },
      { op: "JOIN_CGROUP", fd: 10 },
    ]);
    expect(o.some((x) => x.op === "SYNC" && x.tag === SyncTag.CGROUP)).toBe(false);
    expect(find(o, "FORK_PID1")[0]?.cgroup).toBe(FD.NONE);
    expect(names({ cgroupJoin: { tasks: [9, 10] } }).slice(3)).toEqual(names().slice(2));
  });

  test("with a cgroup2 directory: clone3 into it, then the child joins the cgroup and mount namespaces (the kernel refuses a clone3 into a cgroup outside the caller's cgroup namespace)", () => {
    const withCgroupns = input({
      cgroupJoin: { tasks: [], unified: 11 },
      namespaces: [...input().namespaces, { type: "cgroup", path: "/proc/self/fd/12" }],
    });
    const o = planExec(withCgroupns).map((s) => s.op);
    const n = o.map((x) => x.op);
    const fork = n.indexOf("FORK_PID1");
    expect(find(o, "FORK_PID1")[0]?.cgroup).toBe(11);
    expect(n).not.toContain("SYNC");
    expect(find(o.slice(0, fork), "SETNS").map((s) => s.path)).toEqual([
      "/proc/self/fd/7",
      "/proc/self/fd/8",
      "/proc/self/fd/6",
    ]);
    expect(find(o.slice(fork), "SETNS").map((s) => s.path)).toEqual(["/proc/self/fd/12", "/proc/self/fd/5"]);
  });

  test("the process forks after joining (pid namespaces apply to children), then sets up and execs without a start FIFO", () => {
    const n = names();
    const order = [
      "SETNS",
      "FORK_PID1",
      "SETSID",
      "SETGROUPS",
      "SETID",
      "CAPS",
      "CHDIR",
      "CLOSE_FDS",
      "EXEC",
    ];
    const at = order.map((x) => n.lastIndexOf(x));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(n).not.toContain("WAIT_START");
    expect(n).not.toContain("OPEN_FIFO");
    expect(n).not.toContain("UNSHARE");
    expect(n.at(-1)).toBe("EXEC");
  });

  test("detached exec leaves the process behind; foreground waits for it", () => {
    expect(find(ops({ mode: "detached" }), "FORK_PID1")[0]?.mode).toBe(0);
    expect(find(ops({ mode: "foreground" }), "FORK_PID1")[0]?.mode).toBe(1);
  });

  test("the user, groups, cwd and command are the process's", () => {
    const o = ops();
    expect(find(o, "SETID")[0]).toEqual({ op: "SETID", uid: 1000, gid: 1000 });
    expect(Array.from(find(o, "SETGROUPS")[0]?.gids as Uint8Array)).toEqual([10, 0, 0, 0, 20, 0, 0, 0]);
    expect(find(o, "CHDIR")[0]?.path).toBe("/tmp");
    expect(find(o, "EXEC")[0]).toEqual({
      op: "EXEC",
      candidates: ["/bin/sh"],
      argv: ["sh", "-c", "id"],
      env: ["PATH=/bin"],
    });
  });

  test("a terminal goes to the console socket or back over the sync socket", () => {
    const tty = { ...proc, terminal: true };
    const viaSocket = ops({ process: tty, console: { kind: "socket", path: "/s", fd: 4 } });
    expect(find(viaSocket, "CONSOLE_FD")[0]?.fd).toBe(4);
    expect(find(viaSocket, "PTY")[0]?.mode).toBe(1);
    expect(find(ops({ process: tty, console: { kind: "sync" } }), "PTY")[0]?.mode).toBe(0);
    expect(names({ process: tty, console: { kind: "sync" } })).not.toContain("SETSID");
  });

  test("preserved fds stay open: close-on-exec starts above them", () => {
    expect(find(ops({ preserveFds: 2 }), "CLOSE_FDS")[0]?.from).toBe(5);
  });

  test("seccomp is the last step before exec with no_new_privs, and precedes the capability drop without", () => {
    const seccomp = { bpf: new Uint8Array(8), flags: 0n };
    const nnp = names({ seccomp, process: { ...proc, noNewPrivileges: true } });
    expect(nnp.at(-2)).toBe("SECCOMP");
    const plain = names({ seccomp });
    expect(plain.indexOf("SECCOMP")).toBeLessThan(plain.indexOf("CAP_BOUNDING"));
  });

  test("a filter with a listener is installed by SECCOMP_LISTENER in SECCOMP's place (the sync socket is open until exec)", () => {
    const seccomp = { bpf: new Uint8Array(8), flags: 0n, listener: true };
    const nnp = names({ seccomp, process: { ...proc, noNewPrivileges: true } });
    expect(nnp.at(-2)).toBe("SECCOMP_LISTENER");
    const plain = names({ seccomp });
    expect(plain.indexOf("SECCOMP_LISTENER")).toBe(plain.indexOf("CHDIR") + 1);
    expect(plain.indexOf("SECCOMP_LISTENER")).toBeLessThan(plain.indexOf("CAP_BOUNDING"));
    expect(plain).not.toContain("SECCOMP");
  });

  test("the working directory is entered and checked before the seccomp filter, with or without no_new_privs", () => {
    // CHDIR's CVE-2024-21626 check calls getcwd, which a profile may deny.
    const seccomp = { bpf: new Uint8Array(8), flags: 0n };
    for (const noNewPrivileges of [true, false]) {
      const n = names({ seccomp, process: { ...proc, noNewPrivileges } });
      expect(n.indexOf("CHDIR")).toBeGreaterThan(n.indexOf("FORK_PID1"));
      expect(n.indexOf("CHDIR")).toBeLessThan(n.indexOf("SECCOMP"));
    }
  });

  test("rlimits are the process's; the caller's open-file limit is restored when none is set", () => {
    const o = ops({
      process: { ...proc, rlimits: [{ type: "RLIMIT_NPROC", soft: 10, hard: 20 }] },
      inheritedNofile: { soft: 1024n, hard: 4096n },
    });
    expect(find(o, "RLIMIT")).toEqual([
      { op: "RLIMIT", resource: 7, soft: 1024n, hard: 4096n },
      { op: "RLIMIT", resource: 6, soft: 10n, hard: 20n },
    ]);
  });
});

test("an LSM label for execve is written after the credentials, just before exec", () => {
  const n = names({ lsmExec: [{ path: "thread-self/attr/apparmor/exec", data: "exec p" }] });
  expect(n.indexOf("WRITE_PROC")).toBeGreaterThan(n.indexOf("CAPS"));
  expect(n.at(-2)).toBe("WRITE_PROC");
});

describe("execCapabilities", () => {
  const container = {
    bounding: ["CAP_CHOWN", "CAP_KILL"],
    effective: ["CAP_CHOWN"],
    permitted: ["CAP_CHOWN"],
    inheritable: ["CAP_CHOWN"],
    ambient: [],
  };

  test("--cap adds to bounding, effective and permitted", () => {
    const c = execCapabilities(container, undefined, ["CAP_NET_ADMIN"]);
    expect(c.bounding).toEqual(["CAP_CHOWN", "CAP_KILL", "CAP_NET_ADMIN"]);
    expect(c.effective).toEqual(["CAP_CHOWN", "CAP_NET_ADMIN"]);
    expect(c.permitted).toEqual(["CAP_CHOWN", "CAP_NET_ADMIN"]);
  });

  test("CVE-2022-29162: exec never grants an inheritable capability the container does not have", () => {
    expect(execCapabilities(container, undefined, ["CAP_SYS_ADMIN"]).inheritable).toEqual(["CAP_CHOWN"]);
    const asked = { ...container, inheritable: ["CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_NET_RAW"] };
    expect(execCapabilities(container, asked, []).inheritable).toEqual(["CAP_CHOWN"]);
    expect(execCapabilities({ ...container, inheritable: [] }, asked, []).inheritable).toEqual([]);
  });
});
