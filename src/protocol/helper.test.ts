// The real helper against malformed frames and plans that need no namespaces.

import { dlopen, FFIType, ptr } from "bun:ffi";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readlinkSync,
  readSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileSeccomp } from "../seccomp/compile.ts";
import { allowAllBut } from "../seccomp/testing.ts";
import { closeFd, connectUnix, recvMsg } from "../sys/seqpacket.ts";
import { frame, planFrame, resumeFrame } from "./encode.ts";
import { ArgKind, HEADER_SIZE, MAGIC, MAX_FRAME, MsgType, OPS, PROTOCOL_VERSION, SyncTag } from "./ops.ts";
import { buildHelper, Errno, errorOf, FRAME_LEVEL, HelperRun, lowerFdLimit, runPlan } from "./testing.ts";

let restoreFdLimit = () => {};
beforeAll(() => {
  buildHelper();
  restoreFdLimit = lowerFdLimit();
});
afterAll(() => restoreFdLimit());

const CLONE_NEWNS = 0x20000;
const CLONE_NEWPID = 0x20000000;
const RLIMIT_NOFILE = 7;

// ---- hand-made frames, byte by byte ----
const le16 = (n: number) => [n & 0xff, (n >>> 8) & 0xff];
const le32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const u64Arg = (n: number) => [ArgKind.U64, ...le32(n), 0, 0, 0, 0];
const bytesArg = (b: number[]) => [ArgKind.BYTES, ...le32(b.length), ...b];
const op = (code: number, argc: number, args: number[], argBytes = args.length) => [
  ...le16(code),
  ...le16(argc),
  ...le32(argBytes),
  ...args,
];
const payload = (count: number, ...ops: number[][]) => [...le32(count), ...ops.flat()];

type HeaderFields = { magic?: number; version?: number; type?: number; len?: number };
function raw(body: number[], h: HeaderFields = {}): Uint8Array {
  return new Uint8Array([
    ...le32(h.magic ?? MAGIC),
    ...le16(h.version ?? PROTOCOL_VERSION),
    ...le16(h.type ?? MsgType.PLAN),
    ...le32(h.len ?? body.length),
    ...body,
  ]);
}

const umask = op(OPS.UMASK.code, 1, u64Arg(0o22));
const good = payload(1, umask);

describe("malformed frames", () => {
  const cases: [string, Uint8Array, string][] = [
    ["an empty datagram", new Uint8Array(0), "frame: EOF or empty datagram before the plan"],
    ["a short header", raw(good).subarray(0, 6), "frame: short header"],
    ["a bad magic", raw(good, { magic: 0x12345678 }), "frame: bad magic"],
    ["a bad version", raw(good, { version: PROTOCOL_VERSION + 1 }), "frame: unsupported protocol version"],
    ["a wrong message type", raw(good, { type: MsgType.RESUME }), "frame: unexpected message type"],
    ["a payload length mismatch", raw(good, { len: good.length + 1 }), "frame: payload length mismatch"],
    ["an oversized declared length", raw(good, { len: 0xffffffff }), "frame: payload length mismatch"],
    [
      "an op count larger than the payload",
      raw(payload(1000, umask)),
      "frame: op count larger than the payload",
    ],
    ["an op count past the end", raw([1, 0]), "frame: op count past the end"],
    ["a second op header past the end", raw(payload(2, umask)), "frame: op header past the end"],
    ["an unknown op code", raw(payload(1, op(99, 0, []))), "frame: unknown op code"],
    ["op code zero", raw(payload(1, op(0, 0, []))), "frame: unknown op code"],
    [
      "a wrong arg count",
      raw(payload(1, op(OPS.UMASK.code, 2, [...u64Arg(1), ...u64Arg(2)]))),
      "frame: wrong argument count",
    ],
    ["a wrong arg kind", raw(payload(1, op(OPS.UMASK.code, 1, bytesArg([1])))), "frame: wrong argument kind"],
    [
      "a string length past the end",
      raw(payload(1, op(OPS.SET_NAME.code, 1, [ArgKind.BYTES, ...le32(1000), 0x61]))),
      "frame: string length past the end",
    ],
    [
      "a string with an embedded NUL",
      raw(payload(1, op(OPS.SET_NAME.code, 1, bytesArg([0x61, 0, 0x62])))),
      "frame: string contains a NUL byte",
    ],
    [
      "a list count past the end",
      raw(payload(1, op(OPS.EXEC.code, 3, [ArgKind.LIST, ...le32(0x40000000), ...le32(0)]))),
      "frame: list count past the end",
    ],
    [
      "an op length past the end",
      raw(payload(1, op(OPS.UMASK.code, 1, u64Arg(1), 100))),
      "frame: op length past the end",
    ],
    [
      "an op length longer than its arguments",
      raw(payload(1, op(OPS.UMASK.code, 1, [...u64Arg(1), 0], 10))),
      "frame: op length does not match its arguments",
    ],
    [
      "an op length shorter than its arguments",
      raw(payload(1, op(OPS.UMASK.code, 1, u64Arg(1), 5), [0, 0, 0, 0])),
      "frame: argument past the end of its op",
    ],
    ["trailing bytes", raw([...good, 0]), "frame: trailing bytes after the last op"],
  ];
  for (const [name, bytes, message] of cases) {
    test(`${name} is refused with an ERROR frame and exit status 1`, async () => {
      const { messages, exit } = await runPlanBytes(bytes);
      const e = errorOf(messages);
      expect(e).toMatchObject({ index: FRAME_LEVEL, op: "op 0", message });
      expect(exit).toMatchObject({ code: 1, signal: null });
    });
  }

  test("a datagram larger than MAX_FRAME is refused with EMSGSIZE", async () => {
    const big = new Uint8Array(MAX_FRAME + 1);
    big.set(raw([]).subarray(0, HEADER_SIZE));
    const { messages, exit } = await runPlanBytes(big);
    expect(errorOf(messages)).toMatchObject({ index: FRAME_LEVEL, errno: Errno.EMSGSIZE });
    expect(exit).toMatchObject({ code: 1, signal: null });
  });

  test("EOF before any plan exits 1 with one line on stderr", async () => {
    using h = new HelperRun();
    h.closeSocket();
    const exit = await h.finish();
    expect(exit).toMatchObject({ code: 1, signal: null });
    expect(exit.stderr).toContain("frame: EOF or empty datagram before the plan");
  });

  test("a plan with zero ops exits 0", async () => {
    const { messages, exit } = await runPlanBytes(raw(payload(0)));
    expect(messages).toEqual([]);
    expect(exit).toMatchObject({ code: 0, signal: null });
  });
});

async function runPlanBytes(bytes: Uint8Array) {
  using h = new HelperRun();
  h.send(bytes);
  const messages = h.drain();
  return { messages, exit: await h.finish() };
}

describe("plans without namespaces", () => {
  test("SET_NAME, UMASK, CHDIR, RLIMIT and EXEC run end to end and the sync socket reaches EOF at exec", async () => {
    const { messages, exit } = await runPlan([
      { op: "SET_NAME", name: "leopard:[test]" },
      { op: "UMASK", mask: 0o027 },
      { op: "CHDIR", path: "/" },
      { op: "RLIMIT", resource: RLIMIT_NOFILE, soft: 512, hard: 1000 },
      {
        op: "EXEC",
        candidates: ["/nonexistent/sh", "/bin/sh"],
        argv: ["sh", "-c", "echo hi; grep -i umask /proc/self/status; ulimit -n; ulimit -Hn; pwd; echo $FOO"],
        env: ["FOO=bar"],
      },
    ]);
    // drain() returned: EOF, so no copy of the sync socket survived execve.
    expect(messages).toEqual([]);
    expect(exit).toEqual({
      code: 0,
      signal: null,
      stdout: "hi\nUmask:\t0027\n512\n1000\n/\nbar\n",
      stderr: "",
    });
  });

  test("a plan of almost 1 MiB arrives in one datagram and reaches execve intact", async () => {
    const env = Array.from({ length: 8 }, (_, i) => `A${i}=${String(i).repeat(120_000)}`);
    const plan = planFrame([
      { op: "EXEC", candidates: ["/bin/sh"], argv: ["sh", "-c", 'printf %s "$A0$A7" | wc -c'], env },
    ]);
    expect(plan.length).toBeGreaterThan(960_000);
    const { messages, exit } = await runPlanBytes(plan);
    expect(messages).toEqual([]);
    expect(exit).toMatchObject({ code: 0, stdout: "240000\n" });
  });

  test("SET_NAME renames the process for ps", async () => {
    using h = new HelperRun();
    h.send(
      planFrame([
        { op: "SET_NAME", name: "leopard:[2:INIT]" },
        { op: "SYNC", tag: 1 },
      ]),
    );
    expect(h.next()).toMatchObject({ type: "sync", tag: 1 });
    expect(readFileSync(`/proc/${h.proc.pid}/comm`, "utf8")).toBe("leopard:[2:INIT\n"); // 15 bytes max
    expect(readFileSync(`/proc/${h.proc.pid}/cmdline`, "utf8").replace(/\0+$/, "")).toBe("leopard:[2:INIT]");
    h.send(resumeFrame(1));
    expect(await h.finish()).toMatchObject({ code: 0 });
  });

  test("EXEC of a missing program reports ENOENT and exits 127", async () => {
    const { messages, exit } = await runPlan([
      { op: "UMASK", mask: 0o22 },
      { op: "EXEC", candidates: ["/nonexistent/a", "/nonexistent/b"], argv: ["prog"], env: [] },
    ]);
    expect(errorOf(messages)).toMatchObject({ index: 1, op: "EXEC", errno: Errno.ENOENT, path: "prog" });
    expect(exit).toMatchObject({ code: 127, signal: null });
  });

  test("EXEC of a file that is not executable reports EACCES on that candidate and exits 126", async () => {
    const { messages, exit } = await runPlan([
      {
        op: "EXEC",
        candidates: ["/nonexistent/a", "/etc/passwd", "/nonexistent/b"],
        argv: ["prog"],
        env: [],
      },
    ]);
    expect(errorOf(messages)).toMatchObject({
      index: 0,
      op: "EXEC",
      errno: Errno.EACCES,
      path: "/etc/passwd",
    });
    expect(exit).toMatchObject({ code: 126, signal: null });
  });

  test("a failing CHDIR reports its op index, op name, errno and path", async () => {
    const { messages, exit } = await runPlan([
      { op: "UMASK", mask: 0o22 },
      { op: "CHDIR", path: "/nonexistent" },
      { op: "EXEC", candidates: ["/bin/true"], argv: ["true"], env: [] },
    ]);
    expect(messages).toEqual([
      { type: "error", index: 1, op: "CHDIR", errno: Errno.ENOENT, path: "/nonexistent", message: "chdir" },
    ]);
    expect(exit).toMatchObject({ code: 1, signal: null });
  });

  test("a MOUNT onto a missing absolute path reports the target as given", async () => {
    const { messages, exit } = await runPlan([
      { op: "UNSHARE", flags: CLONE_NEWNS },
      {
        op: "MOUNT",
        source: "tmpfs",
        target: "/nonexistent/mnt",
        fstype: "tmpfs",
        flags: 0,
        data: "",
        resolve: 0,
      },
    ]);
    expect(errorOf(messages)).toMatchObject({
      index: 1,
      op: "MOUNT",
      errno: Errno.ENOENT,
      path: "/nonexistent/mnt",
      message: "mount",
    });
    expect(exit.code).toBe(1);
  });

  describe("WRITE_PROC writes only beneath a procfs /proc, with the plan's resolve flags", () => {
    const NO_LINKS = 0x0f; // BENEATH | NO_SYMLINKS | NO_MAGICLINKS | NO_XDEV
    const VIA_SELF = 0x0b; // BENEATH | NO_MAGICLINKS | NO_XDEV
    const MS_REC_PRIVATE = 0x4000 | 0x40000;
    const privateNs = [
      { op: "UNSHARE", flags: CLONE_NEWNS },
      { op: "MOUNT", source: "", target: "/", fstype: "", flags: MS_REC_PRIVATE, data: "", resolve: 0 },
    ] as const;

    test("a write through /proc/self reaches the file", async () => {
      const { messages, exit } = await runPlan([
        { op: "WRITE_PROC", path: "self/oom_score_adj", data: "0", resolve: VIA_SELF },
        { op: "EXEC", candidates: ["/bin/true"], argv: ["true"], env: [] },
      ]);
      expect(messages).toEqual([]);
      expect(exit.code).toBe(0);
    });

    test.each([
      ["a path that climbs out of /proc", "sys/../../etc/hostname", NO_LINKS, Errno.EXDEV],
      ["a magic link", "self/fd/0", VIA_SELF, Errno.ELOOP],
      ["a symlink where none may be", "self/oom_score_adj", NO_LINKS, Errno.ELOOP],
    ])("%s is refused (%p)", async (_what, path, resolve, errno) => {
      const { messages, exit } = await runPlan([{ op: "WRITE_PROC", path, data: "x", resolve }]);
      expect(errorOf(messages)).toMatchObject({
        op: "WRITE_PROC",
        errno,
        path: `/proc/${path}`,
        message: "openat2",
      });
      expect(exit.code).toBe(1);
    });

    test("a mount over part of /proc is not crossed (CVE-2019-16884)", async () => {
      const { messages } = await runPlan([
        ...privateNs,
        {
          op: "MOUNT",
          source: "tmpfs",
          target: "/proc/sys/kernel",
          fstype: "tmpfs",
          flags: 0,
          data: "",
          resolve: 0,
        },
        { op: "WRITE_PROC", path: "sys/kernel/hostname", data: "x", resolve: NO_LINKS },
      ]);
      expect(errorOf(messages)).toMatchObject({ index: 3, op: "WRITE_PROC", errno: Errno.EXDEV });
    });

    test("a /proc that is not procfs is refused before anything is opened in it", async () => {
      const { messages } = await runPlan([
        ...privateNs,
        { op: "MOUNT", source: "tmpfs", target: "/proc", fstype: "tmpfs", flags: 0, data: "", resolve: 0 },
        { op: "WRITE_PROC", path: "self/oom_score_adj", data: "0", resolve: VIA_SELF },
      ]);
      expect(errorOf(messages)).toMatchObject({
        index: 3,
        op: "WRITE_PROC",
        errno: Errno.EXDEV,
        path: "/proc",
        message: "/proc is not procfs",
      });
    });
  });

  test("SETGROUPS with a length that is not a multiple of 4 is refused", async () => {
    const { messages } = await runPlan([{ op: "SETGROUPS", gids: new Uint8Array([1, 0, 0]) }]);
    expect(errorOf(messages)).toMatchObject({ index: 0, op: "SETGROUPS", errno: 22 });
  });

  test("SETGROUPS and SETID take effect (gids are packed u32 LE, binary data with NULs)", async () => {
    const gids = new Uint8Array([...le32(1234), ...le32(0x10000)]);
    const { exit } = await runPlan([
      { op: "SETGROUPS", gids },
      { op: "SETID", uid: 4321, gid: 8765 },
      { op: "EXEC", candidates: ["/bin/sh"], argv: ["sh", "-c", "id -u; id -g; id -G"], env: [] },
    ]);
    expect(exit).toMatchObject({ code: 0, stdout: "4321\n8765\n8765 1234 65536\n" });
  });

  test("a bad SECCOMP program length is refused before the syscall", async () => {
    const { messages } = await runPlan([{ op: "SECCOMP", bpf: new Uint8Array(12), flags: 0 }]);
    expect(errorOf(messages)).toMatchObject({
      op: "SECCOMP",
      errno: 22,
      message: "seccomp: bad program length",
    });
  });

  test("CLOSE_FDS keeps the preserved fds below it and closes the rest at exec", async () => {
    const extra = [openSync("/dev/null", "r"), openSync("/dev/null", "r"), openSync("/dev/null", "r")];
    try {
      const { exit } = await runPlan(
        [
          { op: "CLOSE_FDS", from: 5 },
          {
            op: "EXEC",
            candidates: ["/bin/sh"],
            argv: ["sh", "-c", "for f in 3 4 5 6 100; do [ -e /proc/self/fd/$f ] && echo $f; done; true"],
            env: [],
          },
        ],
        { extraFds: extra },
      );
      // 3 was the sync socket (moved to a close-on-exec fd >= 100); 4 is preserved; 5, 6 closed.
      expect(exit).toMatchObject({ code: 0, stdout: "4\n" });
    } finally {
      for (const fd of extra) closeSync(fd);
    }
  });
});

describe("sync points", () => {
  test("SYNC then RESUME round trips, and SYNC carries the helper's pid", async () => {
    using h = new HelperRun();
    h.send(
      planFrame([
        { op: "SYNC", tag: 7 },
        { op: "EXEC", candidates: ["/bin/echo"], argv: ["echo", "resumed"], env: [] },
      ]),
    );
    expect(h.next()).toEqual({ type: "sync", tag: 7, pid: h.proc.pid });
    h.send(resumeFrame(7));
    expect(h.next()).toBeNull();
    expect(await h.finish()).toMatchObject({ code: 0, stdout: "resumed\n" });
  });

  test("SECCOMP_LISTENER sends the filter's listener with sync 5, keeps no copy, and waits for RESUME", async () => {
    // Notifies a syscall nothing here makes: the listener is only looked at, never asked.
    const { bpf } = compileSeccomp(
      allowAllBut([{ names: ["acct"], action: "SCMP_ACT_NOTIFY", errnoRet: undefined, args: [] }]),
    );
    using h = new HelperRun();
    h.send(
      planFrame([
        { op: "PRCTL", option: 38, arg: 1 }, // no_new_privs: no privilege needed for the filter
        { op: "SECCOMP_LISTENER", bpf, flags: 0 },
        {
          op: "EXEC",
          candidates: ["/bin/sh"],
          argv: ["sh", "-c", "ls -l /proc/$$/fd/ | grep -c seccomp; true"],
          env: [],
        },
      ]),
    );
    const got = h.nextWithFds();
    expect(got?.msg).toEqual({ type: "sync", tag: SyncTag.SECCOMP_LISTENER, pid: h.proc.pid });
    expect(got?.fds).toHaveLength(1);
    const listener = got?.fds[0] ?? -1;
    try {
      expect(readlinkSync(`/proc/self/fd/${listener}`)).toBe("anon_inode:seccomp notify");
      // Nothing runs until the parent says the agent has it.
      expect(() => h.next(200)).toThrow(/no message within/);
      h.send(resumeFrame(SyncTag.SECCOMP_LISTENER));
      expect(h.next()).toBeNull();
      expect(await h.finish()).toMatchObject({ code: 0, stdout: "0\n" });
    } finally {
      closeFd(listener);
    }
  });

  test("SECCOMP_LISTENER refuses a bad program length before the syscall", async () => {
    const { messages } = await runPlan([{ op: "SECCOMP_LISTENER", bpf: new Uint8Array(12), flags: 0 }]);
    expect(errorOf(messages)).toMatchObject({
      op: "SECCOMP_LISTENER",
      errno: 22,
      message: "seccomp: bad program length",
    });
  });

  test("a RESUME with the wrong tag is refused", async () => {
    using h = new HelperRun();
    h.send(planFrame([{ op: "SYNC", tag: 1 }]));
    expect(h.next()).toMatchObject({ type: "sync", tag: 1 });
    h.send(resumeFrame(2));
    expect(h.next()).toMatchObject({
      type: "error",
      index: 0,
      op: "SYNC",
      message: "sync: RESUME with the wrong tag",
    });
    expect(await h.finish()).toMatchObject({ code: 1, signal: null });
  });

  test("a message other than RESUME at a sync point is refused", async () => {
    using h = new HelperRun();
    h.send(planFrame([{ op: "SYNC", tag: 1 }]));
    h.next();
    h.send(frame(MsgType.PLAN, new Uint8Array(4)));
    expect(h.next()).toMatchObject({ type: "error", op: "SYNC", message: "frame: unexpected message type" });
    expect(await h.finish()).toMatchObject({ code: 1 });
  });

  test("EOF at a sync point fails the helper", async () => {
    using h = new HelperRun();
    h.send(planFrame([{ op: "SYNC", tag: 1 }]));
    h.next();
    h.closeSocket();
    const exit = await h.finish();
    expect(exit).toMatchObject({ code: 1, signal: null });
    expect(exit.stderr).toContain("sync: EOF while waiting for RESUME");
  });

  test("FORK_PID1 mode 1 reports the child's pid and exits with the child's exit status", async () => {
    using h = new HelperRun();
    h.send(
      planFrame([
        { op: "UNSHARE", flags: CLONE_NEWPID },
        { op: "FORK_PID1", mode: 1, cgroup: 0xffff_ffff },
        { op: "EXEC", candidates: ["/bin/sh"], argv: ["sh", "-c", "echo $$; exit 7"], env: [] },
      ]),
    );
    const pid = h.next();
    expect(pid).toMatchObject({ type: "pid" });
    expect(pid?.type === "pid" && pid.pid > 0 && pid.pid !== h.proc.pid).toBe(true);
    expect(h.next()).toBeNull();
    expect(await h.finish()).toMatchObject({ code: 7, signal: null, stdout: "1\n" });
  });

  test("PID always arrives before anything the child sends", async () => {
    for (let i = 0; i < 30; i++) {
      using h = new HelperRun();
      h.send(
        planFrame([
          { op: "FORK_PID1", mode: i % 2, cgroup: 0xffff_ffff },
          { op: "SYNC", tag: 2 },
          { op: "EXEC", candidates: ["/bin/true"], argv: ["true"], env: [] },
        ]),
      );
      expect(h.next()?.type).toBe("pid");
      expect(h.next()?.type).toBe("sync");
      h.send(resumeFrame(2));
      expect(h.next()).toBeNull();
      await h.finish();
    }
  });

  test("FORK_PID1 mode 1 exits 128+signal when the child is killed", async () => {
    const { messages, exit } = await runPlan([
      { op: "FORK_PID1", mode: 1, cgroup: 0xffff_ffff },
      { op: "EXEC", candidates: ["/bin/sh"], argv: ["sh", "-c", "kill -9 $$"], env: [] },
    ]);
    expect(messages.map((m) => m.type)).toEqual(["pid"]);
    expect(exit).toMatchObject({ code: 137, signal: null });
  });

  test("FORK_PID1 mode 0 exits at once and the child goes on with the plan", async () => {
    using h = new HelperRun();
    h.send(
      planFrame([
        { op: "FORK_PID1", mode: 0, cgroup: 0xffff_ffff },
        { op: "SYNC", tag: 3 },
        { op: "EXEC", candidates: ["/bin/echo"], argv: ["echo", "child"], env: [] },
      ]),
    );
    const pid = h.next();
    if (pid?.type !== "pid") throw new Error(`expected PID, got ${JSON.stringify(pid)}`);
    await h.proc.exited;
    expect(h.proc.exitCode).toBe(0);
    expect(h.next()).toEqual({ type: "sync", tag: 3, pid: pid.pid });
    h.send(resumeFrame(3));
    expect(h.next()).toBeNull();
    expect((await h.finish()).stdout).toBe("child\n");
  });

  test("WAIT_START sends READY and blocks on the FIFO until it is opened for reading", async () => {
    const dir = mkdtempSync(join(tmpdir(), "leopard-fifo-"));
    try {
      const fifo = join(dir, "exec.fifo");
      expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
      using h = new HelperRun();
      h.send(
        planFrame([
          { op: "OPEN_FIFO", path: fifo },
          { op: "WAIT_START" },
          { op: "EXEC", candidates: ["/bin/echo"], argv: ["echo", "started"], env: [] },
        ]),
      );
      expect(h.next()).toMatchObject({ type: "ready" });
      expect(() => h.next(200)).toThrow(/no message within/); // still blocked
      const fd = openSync(fifo, "r");
      const byte = new Uint8Array(1);
      expect(readSync(fd, byte)).toBe(1);
      closeSync(fd);
      expect(byte[0]).toBe(0x30);
      expect(h.next()).toBeNull();
      expect(await h.finish()).toMatchObject({ code: 0, stdout: "started\n" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("PTY mode 0 passes the master over the sync socket and the program runs on the slave", async () => {
    using h = new HelperRun();
    h.send(
      planFrame([
        { op: "PTY", mode: 0 },
        {
          op: "EXEC",
          candidates: ["/bin/sh"],
          argv: ["sh", "-c", "test -t 0 && test -t 1 && echo on-a-tty"],
          env: [],
        },
      ]),
    );
    const got = h.nextWithFds();
    expect(got?.msg).toEqual({ type: "pty" });
    expect(got?.fds.length).toBe(1);
    const master = got!.fds[0]!;
    let out = "";
    try {
      const buf = new Uint8Array(256);
      for (;;) {
        const n = readSync(master, buf); // EIO once the slave side is gone
        if (n === 0) break;
        out += new TextDecoder().decode(buf.subarray(0, n));
      }
    } catch {
      // EIO: the program exited
    } finally {
      closeFd(master);
    }
    expect(out).toBe("on-a-tty\r\n");
    expect(await h.finish()).toMatchObject({ code: 0 });
  });
});

test("PTY mode 1 sends the master over the console socket with the slave's name", async () => {
  const dir = mkdtempSync(join(tmpdir(), "leopard-console-"));
  const { symbols, close } = dlopen("libc.so.6", {
    socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    listen: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    accept4: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  });
  const path = join(dir, "console.sock");
  const SOCK_STREAM_CLOEXEC = 1 | 0o2000000;
  const listener = symbols.socket(1, SOCK_STREAM_CLOEXEC, 0);
  const addr = new Uint8Array(110);
  addr.set([1, 0]); // AF_UNIX
  addr.set(new TextEncoder().encode(path), 2);
  const fds: number[] = [listener];
  try {
    expect(symbols.bind(listener, ptr(addr), addr.length)).toBe(0);
    expect(symbols.listen(listener, 1)).toBe(0);
    // The parent connects (the container's user may not reach the path) and passes the fd on.
    const client = connectUnix(path);
    fds.push(client);
    using h = new HelperRun({ extraFds: [client] });
    h.send(
      planFrame([
        { op: "CONSOLE_FD", fd: 4 },
        { op: "PTY", mode: 1 },
        { op: "SYNC", tag: 1 },
        { op: "EXEC", candidates: ["/bin/sh"], argv: ["sh", "-c", "test -t 2 && echo on-a-tty"], env: [] },
      ]),
    );
    expect(h.next()).toMatchObject({ type: "sync", tag: 1 });
    const conn = symbols.accept4(listener, null, null, 0o2000000);
    expect(conn).toBeGreaterThanOrEqual(0);
    fds.push(conn);
    const first = recvMsg(conn, 1000); // SCM_RIGHTS rides on the first byte of the stream
    expect(first?.fds.length).toBe(1);
    fds.push(...(first?.fds ?? []));
    const rest = new Uint8Array(64);
    const n = readSync(conn, rest);
    const name = new TextDecoder().decode(first!.data) + new TextDecoder().decode(rest.subarray(0, n));
    expect(name).toMatch(/^\/dev\/pts\/\d+$/);
    h.send(resumeFrame(1));
    expect(h.next()).toBeNull();
    expect(await h.finish()).toMatchObject({ code: 0 });
    const out = new Uint8Array(64);
    const got = readSync(first!.fds[0]!, out);
    expect(new TextDecoder().decode(out.subarray(0, got))).toBe("on-a-tty\r\n");
  } finally {
    for (const fd of fds) closeFd(fd);
    close();
    rmSync(dir, { recursive: true, force: true });
  }
});

describe("the helper itself", () => {
  // CVE-2019-5736: the container must never be able to write the host binary via /proc/<pid>/exe.
  test("CVE-2019-5736: the helper runs from a sealed memfd copy and is not dumpable", async () => {
    // As nobody, /proc/<pid>/status is owned by the process's uid unless it is non-dumpable (then
    // root). /proc/<pid> itself always shows the euid, so it cannot tell.
    using h = new HelperRun({ prefix: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] });
    h.send(planFrame([{ op: "SYNC", tag: 1 }]));
    expect(h.next()).toMatchObject({ type: "sync", tag: 1, pid: h.proc.pid });
    expect(readlinkSync(`/proc/${h.proc.pid}/exe`)).toBe("/memfd:leopard-helper (deleted)");
    expect(readFileSync(`/proc/${h.proc.pid}/status`, "utf8")).toMatch(/^Uid:\t65534\t/m);
    expect(statSync(`/proc/${h.proc.pid}/status`).uid).toBe(0);
    h.send(resumeFrame(1));
    expect(await h.finish()).toMatchObject({ code: 0, signal: null });
  });

  test("a bad command line prints usage and exits 1", () => {
    const r = Bun.spawnSync([`${import.meta.dir}/../../native/build/leopard-helper`, "nope"], {
      stderr: "pipe",
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.toString()).toContain("usage: leopard-helper SYNCFD");
  });
});
