import { describe, expect, test } from "bun:test";
import { type Op, SyncTag } from "../protocol/ops.ts";
import { MS, parseMountOptions } from "./mount-options.ts";
import { execCandidates, type HostFacts, type PlanInput, type PlanSpec, plan } from "./plan.ts";
import { planInput } from "./testing.ts";
import { CLONE } from "./types.ts";

const host: HostFacts = {
  capLast: 40,
  cgroupMounts: [
    { name: "memory", fstype: "cgroup", options: "memory" },
    { name: "unified", fstype: "cgroup2", options: "" },
  ],
  sourceIsDir: (p) => !p.endsWith(".txt"),
  hostHas: () => true,
};

function spec(over: Partial<PlanSpec> = {}, linux: NonNullable<PlanSpec["linux"]> = {}): PlanSpec {
  return {
    process: { user: { uid: 0, gid: 0 }, args: ["sh"], env: ["PATH=/bin:/usr/bin"], cwd: "/" },
    root: { path: "/r" },
    mounts: [{ destination: "/proc", type: "proc", source: "proc" }],
    linux: { namespaces: [{ type: "pid" }, { type: "mount" }], ...linux },
    ...over,
  };
}

function input(s: PlanSpec, over: Partial<PlanInput> = {}): PlanInput {
  return planInput(s, { fifo: "/run/leopard/c/exec.fifo", host, ...over });
}

const ops = (s: PlanSpec, over: Partial<PlanInput> = {}): Op[] => plan(input(s, over)).steps.map((x) => x.op);
const names = (s: PlanSpec, over: Partial<PlanInput> = {}): string[] => ops(s, over).map((o) => o.op);
const mounts = (s: PlanSpec) => ops(s).filter((o): o is Extract<Op, { op: "MOUNT" }> => o.op === "MOUNT");

describe("plan", () => {
  test("a minimal spec becomes namespaces, fork, mounts, pivot, credentials, wait, exec — in that order", () => {
    const n = names(spec());
    const order = [
      "UNSHARE",
      "FORK_PID1",
      "SET_ROOT",
      "OPEN_FIFO",
      "PIVOT_ROOT",
      "SETID",
      "CAPS",
      "CHDIR",
      "CLOSE_FDS",
      "WAIT_START",
      "EXEC",
    ];
    const at = order.map((o) => n.indexOf(o));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(n.at(-1)).toBe("EXEC");
  });

  test("a new user namespace comes first, then sync 1 for the id maps, then root inside", () => {
    const s = spec(
      {},
      {
        namespaces: [{ type: "user" }, { type: "pid" }, { type: "mount" }],
        uidMappings: [
          { containerID: 0, hostID: 1000, size: 10 },
          { containerID: 10, hostID: 5000, size: 5 },
        ],
        gidMappings: [{ containerID: 0, hostID: 1000, size: 10 }],
      },
    );
    const p = plan(input(s));
    const o = p.steps.map((x) => x.op);
    expect(o.slice(1, 5)).toEqual([
      { op: "UNSHARE", flags: 0x10000000 },
      { op: "SYNC", tag: 1 },
      { op: "SETID", uid: 0, gid: 0 },
      { op: "UNSHARE", flags: 0x20000000 | 0x00020000 },
    ]);
    expect(p.idMaps).toEqual({ uid: "0 1000 10\n10 5000 5\n", gid: "0 1000 10\n" });
  });

  test("namespaces given by path are joined, not created", () => {
    const o = ops(
      spec(
        {},
        { namespaces: [{ type: "pid" }, { type: "mount" }, { type: "network", path: "/proc/7/ns/net" }] },
      ),
    );
    expect(o).toContainEqual({ op: "SETNS", path: "/proc/7/ns/net", nstype: 0x40000000 });
    const unshare = o.find((x) => x.op === "UNSHARE");
    expect(unshare).toEqual({ op: "UNSHARE", flags: 0x20000000 | 0x00020000 });
  });

  test("time offsets are written to timens_offsets before the fork", () => {
    const n = ops(
      spec(
        {},
        {
          namespaces: [{ type: "time" }, { type: "mount" }],
          timeOffsets: { boottime: { secs: 5, nanosecs: 7 } },
        },
      ),
    );
    const w = n.findIndex((x) => x.op === "WRITE_PROC");
    expect(n[w]).toEqual({
      op: "WRITE_PROC",
      path: "self/timens_offsets",
      data: "boottime 5 7\n",
      resolve: 0x0b,
    });
    expect(w).toBeLessThan(n.findIndex((x) => x.op === "FORK_PID1"));
  });

  test("a read-only bind mount is a bind then a remount", () => {
    const m = mounts(
      spec({ mounts: [{ destination: "/data", source: "/srv", options: ["rbind", "ro", "nosuid"] }] }),
    );
    const data = m.filter((x) => x.target === "/data");
    expect(data).toEqual([
      {
        op: "MOUNT",
        source: "/srv",
        target: "/data",
        fstype: "",
        flags: MS.BIND | MS.REC,
        data: "",
        resolve: 1,
      },
      {
        op: "MOUNT",
        source: "",
        target: "/data",
        fstype: "",
        flags: MS.BIND | MS.REMOUNT | MS.RDONLY | MS.NOSUID,
        data: "",
        resolve: 1,
      },
    ]);
  });

  test("a bind mount of a file creates a file target", () => {
    const m = mounts(spec({ mounts: [{ destination: "/etc/x", source: "/srv/x.txt", options: ["bind"] }] }));
    expect(m.find((x) => x.target === "/etc/x")?.resolve).toBe(2);
  });

  test("filesystem mounts pass their flags and data", () => {
    const m = mounts(
      spec({
        mounts: [
          {
            destination: "/dev/pts",
            type: "devpts",
            source: "devpts",
            options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "gid=5"],
          },
        ],
      }),
    );
    expect(m.find((x) => x.target === "/dev/pts")).toEqual({
      op: "MOUNT",
      source: "devpts",
      target: "/dev/pts",
      fstype: "devpts",
      flags: MS.NOSUID | MS.NOEXEC,
      data: "newinstance,ptmxmode=0666,gid=5",
      resolve: 1,
    });
  });

  test("devices are mknod'ed as root and bind-mounted from the host in a user namespace", () => {
    const plain = ops(spec());
    expect(plain).toContainEqual({
      op: "MKNOD",
      path: "/dev/null",
      mode: 0o020666,
      dev: 259n,
      uid: 0,
      gid: 0,
    });
    const userns = ops(
      spec(
        {},
        {
          namespaces: [{ type: "user" }, { type: "mount" }],
          uidMappings: [{ containerID: 0, hostID: 1, size: 1 }],
          gidMappings: [{ containerID: 0, hostID: 1, size: 1 }],
        },
      ),
    );
    expect(userns.some((o) => o.op === "MKNOD")).toBe(false);
    expect(userns).toContainEqual({
      op: "MOUNT",
      source: "/dev/null",
      target: "/dev/null",
      fstype: "",
      flags: MS.BIND,
      data: "",
      resolve: 2,
    });
  });

  test("a cgroup mount with a cgroup namespace mounts each v1 hierarchy under a writable tmpfs (not the hybrid cgroup2), as runc does", () => {
    const m = mounts(
      spec(
        {
          mounts: [
            { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["ro", "nosuid"] },
          ],
        },
        { namespaces: [{ type: "cgroup" }, { type: "mount" }] },
      ),
    );
    expect(
      m.filter((x) => String(x.target).startsWith("/sys/fs/cgroup")).map((x) => [x.target, x.fstype, x.data]),
    ).toEqual([
      ["/sys/fs/cgroup", "tmpfs", "mode=755"],
      ["/sys/fs/cgroup/memory", "cgroup", "memory"],
    ]);
  });

  test("without a cgroup namespace the host's cgroup tree is bind-mounted", () => {
    const m = mounts(
      spec({
        mounts: [{ destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["ro"] }],
      }),
    );
    expect(m.find((x) => x.target === "/sys/fs/cgroup")).toMatchObject({
      source: "/sys/fs/cgroup",
      flags: MS.BIND | MS.REC,
    });
  });

  test("a mount label becomes context= on the container's filesystems, not on proc, sysfs, mqueue or binds", () => {
    const s = spec({
      mounts: [
        { destination: "/proc", type: "proc", source: "proc" },
        { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["mode=755"] },
        { destination: "/dev/mqueue", type: "mqueue", source: "mqueue" },
        { destination: "/data", source: "/srv", options: ["bind"] },
      ],
    });
    const o = plan(input(s, { mountLabel: "system_u:object_r:c_t:s0" }))
      .steps.map((x) => x.op)
      .filter((x): x is Extract<Op, { op: "MOUNT" }> => x.op === "MOUNT" && x.resolve !== 0);
    expect(o.map((x) => [x.target, x.data])).toEqual([
      ["/proc", ""],
      ["/dev", 'mode=755,context="system_u:object_r:c_t:s0"'],
      ["/dev/mqueue", ""],
      ["/data", ""],
    ]);
  });

  test("without a cgroup namespace only the container's own cgroup of each v1 hierarchy is bound, read-only, on a writable tmpfs", () => {
    const s = spec({
      mounts: [
        { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["ro", "nosuid"] },
      ],
    });
    const o = plan(input(s, { cgroupPaths: { memory: "/leopard/c", "": "/leopard/c" } }))
      .steps.map((x) => x.op)
      .filter(
        (x): x is Extract<Op, { op: "MOUNT" }> =>
          x.op === "MOUNT" && String(x.target).startsWith("/sys/fs/cgroup"),
      );
    expect(o.map((x) => [x.source, x.target, x.flags])).toEqual([
      ["tmpfs", "/sys/fs/cgroup", MS.NOSUID | MS.NODEV | MS.NOEXEC],
      ["/sys/fs/cgroup/memory/leopard/c", "/sys/fs/cgroup/memory", MS.BIND | MS.REC],
      ["", "/sys/fs/cgroup/memory", MS.BIND | MS.REMOUNT | MS.RDONLY | MS.NOSUID],
    ]);
  });

  test("a terminal gets a PTY op: over the sync socket for run, over the console socket for create", () => {
    const t = spec();
    t.process.terminal = true;
    expect(ops(t, { console: { kind: "sync" }, mode: "foreground" })).toContainEqual({ op: "PTY", mode: 0 });
    const sock = ops(t, { console: { kind: "socket", path: "/s", fd: 5 } });
    expect(sock).toContainEqual({ op: "PTY", mode: 1 });
    expect(sock).toContainEqual({ op: "CONSOLE_FD", fd: 5 });
    expect(sock.findIndex((o) => o.op === "CONSOLE_FD")).toBeLessThan(
      sock.findIndex((o) => o.op === "PIVOT_ROOT"),
    );
  });

  test("a terminal's pty is bound on /dev/console after it is opened, as runc does", () => {
    const t = spec();
    t.process.terminal = true;
    const o = ops(t, { console: { kind: "socket", path: "/s", fd: 5 } });
    const console = o.findIndex((x) => x.op === "MOUNT" && x.target === "/dev/console");
    expect(o[console]).toEqual({
      op: "MOUNT",
      source: "/proc/self/fd/0",
      target: "/dev/console",
      fstype: "",
      flags: MS.BIND,
      data: "",
      resolve: 2,
    });
    expect(console).toBeGreaterThan(o.findIndex((x) => x.op === "PTY"));
    expect(ops(spec()).some((x) => x.op === "MOUNT" && x.target === "/dev/console")).toBe(false);
  });

  test("readonly paths keep the nosuid, nodev and noexec of the mount they lie on", () => {
    const s = spec(
      {
        mounts: [
          { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
        ],
      },
      { readonlyPaths: ["/proc/sys", "/etc/x"] },
    );
    const remounts = ops(s)
      .filter((x): x is Extract<Op, { op: "MOUNT" }> => x.op === "MOUNT" && x.resolve === 3)
      .map((x) => [x.target, x.flags]);
    expect(remounts).toEqual([
      ["/proc/sys", MS.BIND | MS.REC],
      ["/proc/sys", MS.BIND | MS.REC | MS.REMOUNT | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC],
      ["/etc/x", MS.BIND | MS.REC],
      ["/etc/x", MS.BIND | MS.REC | MS.REMOUNT | MS.RDONLY],
    ]);
  });

  test("HOME comes from the user's home when the process has none", () => {
    const exec = (o: Op[]) => o.find((x): x is Extract<Op, { op: "EXEC" }> => x.op === "EXEC");
    expect(exec(ops(spec(), { home: "/root" }))?.env).toEqual(["PATH=/bin:/usr/bin", "HOME=/root"]);
    const own = spec();
    own.process.env = ["HOME=/data"];
    expect(exec(ops(own, { home: "/root" }))?.env).toEqual(["HOME=/data"]);
  });

  test("the command is checked before waiting for start, so a missing one fails create (as runc's LookPath)", () => {
    const o = ops(spec());
    const check = o.findIndex((x) => x.op === "CHECK_EXEC");
    expect(o[check]).toEqual({ op: "CHECK_EXEC", candidates: ["/bin/sh", "/usr/bin/sh"], name: "sh" });
    expect(check).toBe(o.findIndex((x) => x.op === "WAIT_START") - 1);
  });

  test("capabilities become masks; the bounding set is dropped before setuid", () => {
    const s = spec();
    s.process.capabilities = {
      bounding: ["CAP_CHOWN", "CAP_KILL"],
      effective: ["CAP_KILL"],
      permitted: ["CAP_KILL"],
      inheritable: [],
      ambient: [],
    };
    const o = ops(s);
    expect(o).toContainEqual({ op: "CAP_BOUNDING", mask: 0b100001n, last: 40 });
    expect(o).toContainEqual({ op: "CAPS", effective: 32n, permitted: 32n, inheritable: 0n });
    expect(o.findIndex((x) => x.op === "CAP_BOUNDING")).toBeLessThan(o.findIndex((x) => x.op === "SETID"));
  });

  test("rlimits, umask, preserved fds and the detached mode reach their ops", () => {
    const s = spec();
    s.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: 1024, hard: 4096 }];
    s.process.user.umask = 0o27;
    const o = ops(s, { preserveFds: 2 });
    expect(o).toContainEqual({ op: "RLIMIT", resource: 7, soft: 1024n, hard: 4096n });
    expect(o).toContainEqual({ op: "UMASK", mask: 0o27 });
    expect(o).toContainEqual({ op: "CLOSE_FDS", from: 5 });
    expect(o).toContainEqual({ op: "FORK_PID1", mode: 0, cgroup: 0xffff_ffff });
    expect(ops(s, { mode: "foreground" })).toContainEqual({ op: "FORK_PID1", mode: 1, cgroup: 0xffff_ffff });
  });

  test("cgroupJoin: JOIN_CGROUP per v1 tasks fd, init made in the cgroup2 directory, its cgroup namespace unshared by init", () => {
    const s = spec({}, { namespaces: [{ type: "pid" }, { type: "mount" }, { type: "cgroup" }] });
    const o = ops(s, { cgroupSync: false, cgroupJoin: { tasks: [5, 6], unified: 7 } });
    const at = (op: string) => o.findIndex((x) => x.op === op);
    expect(o.filter((x) => x.op === "JOIN_CGROUP")).toEqual([
      { op: "JOIN_CGROUP", fd: 5 },
      { op: "JOIN_CGROUP", fd: 6 },
    ]);
    expect(o.some((x) => x.op === "SYNC" && x.tag === SyncTag.CGROUP)).toBe(false);
    expect(o[at("FORK_PID1")]).toEqual({ op: "FORK_PID1", mode: 0, cgroup: 7 });
    const unshares = o.filter((x): x is Extract<Op, { op: "UNSHARE" }> => x.op === "UNSHARE");
    expect(unshares.map((u) => Number(u.flags) & CLONE.cgroup)).toEqual([0, CLONE.cgroup]);
    expect(o.indexOf(unshares[1] as Op)).toBeGreaterThan(at("FORK_PID1"));
    expect(at("JOIN_CGROUP")).toBeLessThan(o.indexOf(unshares[0] as Op));
    // Pure v1 (no cgroup2): the helper is in the cgroups before it unshares; the parent does it all.
    const v1 = ops(s, { cgroupSync: false, cgroupJoin: { tasks: [5] } });
    expect(v1.find((x) => x.op === "FORK_PID1")).toEqual({ op: "FORK_PID1", mode: 0, cgroup: 0xffff_ffff });
    const u1 = v1.filter((x): x is Extract<Op, { op: "UNSHARE" }> => x.op === "UNSHARE");
    expect(u1.map((u) => Number(u.flags) & CLONE.cgroup)).toEqual([CLONE.cgroup]);
    // Without it: sync 2, as before.
    expect(ops(s, { cgroupSync: true })).toContainEqual({ op: "SYNC", tag: SyncTag.CGROUP });
  });

  test("--no-pivot uses mode 1; a read-only root is remounted after pivot", () => {
    const s = spec({ root: { path: "/r", readonly: true } });
    const o = ops(s, { noPivot: true });
    const pivot = o.findIndex((x) => x.op === "PIVOT_ROOT");
    expect(o[pivot]).toEqual({ op: "PIVOT_ROOT", mode: 1 });
    const ro = o.findIndex(
      (x) => x.op === "MOUNT" && x.target === "/" && x.flags === (MS.BIND | MS.REMOUNT | MS.RDONLY),
    );
    expect(ro).toBeGreaterThan(pivot);
  });

  test("every step explains itself as a shell line", () => {
    const p = plan(input(spec()));
    for (const s of p.steps) expect(s.explain.length).toBeGreaterThan(0);
    expect(p.steps.map((s) => s.explain).join("\n")).toContain("pivot_root . .");
  });
});

describe("execCandidates", () => {
  test("a name with a slash is used as is", () => {
    expect(execCandidates("/bin/sh", [])).toEqual(["/bin/sh"]);
    expect(execCandidates("./run", [])).toEqual(["./run"]);
  });
  test("a bare name is looked up in the process's PATH, the last PATH winning", () => {
    expect(execCandidates("sh", ["PATH=/a", "PATH=/b:/c/"])).toEqual(["/b/sh", "/c/sh"]);
  });
  test("without PATH the default path is used", () => {
    expect(execCandidates("sh", [])[0]).toBe("/usr/local/sbin/sh");
  });
});

describe("mount options", () => {
  test.each([
    [["ro", "nosuid"], MS.RDONLY | MS.NOSUID, [], []],
    [["rw", "ro", "rw"], 0, [], []],
    [["rbind", "rprivate"], MS.BIND | MS.REC, [MS.PRIVATE | MS.REC], []],
    [["mode=755", "size=64k", "nodev"], MS.NODEV, [], ["mode=755", "size=64k"]],
  ] as [string[], number, number[], string[]][])("%j", (opts, flags, propagation, data) => {
    const p = parseMountOptions(opts);
    expect(p.flags).toBe(flags);
    expect(p.propagation).toEqual(propagation);
    expect(p.data).toEqual(data);
  });
  test("options leopard cannot honour yet are refused, not passed to the kernel", () => {
    expect(() => parseMountOptions(["rnorelatime"])).toThrow(
      'mount option "rnorelatime" is not supported yet',
    );
  });
});

describe("root propagation, as runc sets it up", () => {
  type Parent = { path: string; shared: boolean };
  const propagationOps = (rootfsPropagation: string | undefined, rootfsParent?: Parent) =>
    ops(spec({}, rootfsPropagation === undefined ? {} : { rootfsPropagation }), {
      host: { ...host, rootfsParent },
    })
      .filter((o): o is Extract<Op, { op: "MOUNT" }> => o.op === "MOUNT")
      .filter((o) => (Number(o.flags) & (MS.SHARED | MS.SLAVE | MS.PRIVATE | MS.UNBINDABLE)) !== 0)
      .map((o) => `${o.target} ${o.flags}`);
  const onRoot: Parent = { path: "/", shared: true };
  const ownMount: Parent = { path: "/r", shared: true };
  const privateMount: Parent = { path: "/r", shared: false };

  test.each([
    ["unset", undefined, onRoot, [`/ ${MS.SLAVE | MS.REC}`]],
    ["rslave", "rslave", ownMount, [`/ ${MS.SLAVE | MS.REC}`]],
    ["rprivate", "rprivate", ownMount, [`/ ${MS.PRIVATE | MS.REC}`]],
    ["rshared, the rootfs on /", "rshared", onRoot, [`/ ${MS.SHARED | MS.REC}`, `/ ${MS.PRIVATE}`]],
    [
      "rshared, the rootfs its own mount",
      "rshared",
      privateMount,
      [`/ ${MS.SHARED | MS.REC}`, `/r ${MS.PRIVATE}`],
    ],
    [
      "shared, the rootfs on a shared mount of its own",
      "shared",
      ownMount,
      [`/ ${MS.SHARED}`, `/r ${MS.PRIVATE}`],
    ],
    ["shared, the rootfs on a private mount of its own", "shared", privateMount, [`/ ${MS.SHARED}`]],
    [
      "private, the rootfs on a shared mount of its own",
      "private",
      ownMount,
      [`/ ${MS.PRIVATE}`, `/r ${MS.PRIVATE}`],
    ],
    ["slave, the rootfs on /", "slave", onRoot, [`/ ${MS.SLAVE}`]],
    [
      "unbindable: rslave first, the new root unbindable after pivot_root",
      "unbindable",
      onRoot,
      [`/ ${MS.SLAVE | MS.REC}`, `/ ${MS.UNBINDABLE}`],
    ],
  ])("%s", (_what, prop, parent, expected) => {
    expect(propagationOps(prop, parent)).toEqual(expected);
  });
});

describe("working directory and seccomp", () => {
  const seccomp = { bpf: new Uint8Array(8), flags: 0n };
  for (const noNewPrivileges of [true, false]) {
    test(`the working directory is entered and checked before the filter is installed (noNewPrivileges ${noNewPrivileges})`, () => {
      // CHDIR's CVE-2024-21626 check calls getcwd, which the container's profile may deny.
      const s = spec({ process: { ...spec().process, noNewPrivileges, cwd: "/tmp" } });
      const n = names(s, { seccomp });
      expect(n.indexOf("CHDIR")).toBeGreaterThan(n.indexOf("PIVOT_ROOT"));
      expect(n.indexOf("CHDIR")).toBeLessThan(n.indexOf("SECCOMP"));
    });
  }

  test("without no_new_privs the filter still precedes the capability drop, and with it is the last step before exec", () => {
    const plain = names(spec(), { seccomp });
    expect(plain.indexOf("SECCOMP")).toBeLessThan(plain.indexOf("CAP_BOUNDING"));
    const nnp = names(spec({ process: { ...spec().process, noNewPrivileges: true } }), { seccomp });
    expect(nnp.at(-2)).toBe("SECCOMP");
  });
});

describe("a seccomp filter with a listener (SCMP_ACT_NOTIFY)", () => {
  const seccomp = { bpf: new Uint8Array(8), flags: 0n, listener: true };
  const nnp = spec({ process: { ...spec().process, noNewPrivileges: true } });

  test("is installed by SECCOMP_LISTENER, never by SECCOMP", () => {
    for (const s of [spec(), nnp]) {
      const n = names(s, { seccomp });
      expect(n.filter((x) => x === "SECCOMP_LISTENER")).toHaveLength(1);
      expect(n).not.toContain("SECCOMP");
    }
  });

  test("with no_new_privs it goes on after the working directory and fds, before the start FIFO, while the parent still reads the sync socket", () => {
    const n = names(nnp, { seccomp });
    const at = n.indexOf("SECCOMP_LISTENER");
    expect(at).toBeGreaterThan(n.indexOf("CHDIR"));
    expect(at).toBeGreaterThan(n.indexOf("CLOSE_FDS"));
    expect(at).toBe(n.indexOf("WAIT_START") - 1);
  });

  test("without no_new_privs it goes where SECCOMP would: after CHDIR, before the capability drop", () => {
    const n = names(spec(), { seccomp });
    expect(n.indexOf("SECCOMP_LISTENER")).toBe(n.indexOf("CHDIR") + 1);
    expect(n.indexOf("SECCOMP_LISTENER")).toBeLessThan(n.indexOf("CAP_BOUNDING"));
  });
});
