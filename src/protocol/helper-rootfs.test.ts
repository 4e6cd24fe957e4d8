// The real helper building root filesystems: paths resolved inside the root, pivot_root, masking.
// Every plan starts with its own mount namespace made private, so nothing reaches the host.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { planFrame, resumeFrame } from "./encode.ts";
import type { Op } from "./ops.ts";
import { buildHelper, Errno, errorOf, HelperRun, lowerFdLimit, runPlan } from "./testing.ts";

const CLONE_NEWNS = 0x20000;
const CLONE_NEWUSER = 0x10000000;
const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  REMOUNT: 32,
  BIND: 4096,
  REC: 16384,
  PRIVATE: 1 << 18,
} as const;
const S_IFCHR = 0o020000;
const DEV_NULL = 259; // makedev(1, 3)

let restoreFdLimit = () => {};
beforeAll(() => {
  buildHelper();
  restoreFdLimit = lowerFdLimit();
});
afterAll(() => restoreFdLimit());

let tmp = "";
afterEach(() => {
  if (tmp !== "") rmSync(tmp, { recursive: true, force: true });
  tmp = "";
});

/** A temp dir holding `root` (the container's rootfs) and `outside` (a host directory). */
function dirs() {
  tmp = mkdtempSync(join(tmpdir(), "leopard-root-"));
  const root = join(tmp, "root");
  const outside = join(tmp, "outside");
  mkdirSync(root);
  mkdirSync(outside);
  return { root, outside };
}

const privateMountNs: Op[] = [
  { op: "UNSHARE", flags: CLONE_NEWNS },
  { op: "MOUNT", source: "", target: "/", fstype: "", flags: MS.REC | MS.PRIVATE, data: "", resolve: 0 },
];

const sh = (script: string): Op => ({
  op: "EXEC",
  candidates: ["/bin/sh"],
  argv: ["sh", "-c", script],
  env: [],
});

/** Mount points (field 5 of mountinfo) printed by `cat /proc/self/mountinfo`. */
const mountPoints = (mountinfo: string) =>
  mountinfo
    .trim()
    .split("\n")
    .map((l) => l.split(" ")[4]!);

/** A root with /usr bound read-only, the usual merged-/usr links, /dev/null and /proc. */
function minimalRoot(root: string): Op[] {
  return [
    ...privateMountNs,
    // pivot_root needs the root to be a mount point.
    { op: "MOUNT", source: root, target: root, fstype: "", flags: MS.BIND | MS.REC, data: "", resolve: 0 },
    { op: "SET_ROOT", path: root },
    {
      op: "MOUNT",
      source: "/usr",
      target: "/usr",
      fstype: "",
      flags: MS.BIND | MS.REC,
      data: "",
      resolve: 1,
    },
    {
      op: "MOUNT",
      source: "",
      target: "/usr",
      fstype: "",
      flags: MS.REMOUNT | MS.BIND | MS.RDONLY,
      data: "",
      resolve: 1,
    },
    { op: "SYMLINK", target: "usr/bin", linkpath: "/bin" },
    { op: "SYMLINK", target: "usr/lib", linkpath: "/lib" },
    { op: "SYMLINK", target: "usr/lib64", linkpath: "/lib64" },
    { op: "MKNOD", path: "/dev/null", mode: S_IFCHR | 0o666, dev: DEV_NULL, uid: 0, gid: 0 },
    {
      op: "MOUNT",
      source: "proc",
      target: "/proc",
      fstype: "proc",
      flags: MS.NOSUID | MS.NODEV | MS.NOEXEC,
      data: "",
      resolve: 1,
    },
  ];
}

describe("paths inside the root", () => {
  test("CVE-2021-30465: mount targets, nodes and links behind symlinks to the host are created inside the root", async () => {
    const { root, outside } = dirs();
    symlinkSync(outside, join(root, "abs")); // absolute link to a host directory
    symlinkSync(`${"../".repeat(12)}${outside.slice(1)}`, join(root, "rel")); // relative, climbing out
    const { messages, exit } = await runPlan([
      ...privateMountNs,
      { op: "SET_ROOT", path: root },
      { op: "MOUNT", source: "tmpfs", target: "/abs/a/b", fstype: "tmpfs", flags: 0, data: "", resolve: 1 },
      { op: "MOUNT", source: "tmpfs", target: "rel/c", fstype: "tmpfs", flags: 0, data: "", resolve: 1 },
      {
        op: "MOUNT",
        source: "/etc/hostname",
        target: "/abs/f",
        fstype: "",
        flags: MS.BIND,
        data: "",
        resolve: 2,
      },
      { op: "MKNOD", path: "/rel/null", mode: S_IFCHR | 0o600, dev: DEV_NULL, uid: 0, gid: 0 },
      { op: "SYMLINK", target: "/etc/shadow", linkpath: "/abs/link" },
      sh("cat /proc/self/mountinfo"),
    ]);
    expect(messages).toEqual([]);
    expect(exit.code).toBe(0);
    expect(readdirSync(outside)).toEqual([]);
    const inside = join(root, outside);
    expect(readdirSync(inside).sort()).toEqual(["a", "c", "f", "link", "null"]);
    expect(lstatSync(join(inside, "f")).isFile()).toBe(true);
    expect(lstatSync(join(inside, "null")).isCharacterDevice()).toBe(true);
    const points = mountPoints(exit.stdout);
    expect(points).toContain(join(inside, "a/b"));
    expect(points).toContain(join(inside, "c"));
    expect(points).toContain(join(inside, "f"));
    expect(points.filter((p) => p.startsWith(outside))).toEqual([]);
  });

  test("a mount onto a dangling symlink creates the link's target inside the root", async () => {
    const { root } = dirs();
    mkdirSync(join(root, "etc"));
    symlinkSync("../run/systemd/resolve/stub-resolv.conf", join(root, "etc/resolv.conf"));
    symlinkSync("loop", join(root, "loop"));
    const { messages, exit } = await runPlan([
      ...privateMountNs,
      { op: "SET_ROOT", path: root },
      {
        op: "MOUNT",
        source: "/etc/hostname",
        target: "/etc/resolv.conf",
        fstype: "",
        flags: MS.BIND,
        data: "",
        resolve: 2,
      },
      sh(`cat ${root}/etc/resolv.conf`),
    ]);
    expect(messages).toEqual([]);
    expect(exit.stdout).toBe(readFileSync("/etc/hostname", "utf8"));
    expect(lstatSync(join(root, "run/systemd/resolve/stub-resolv.conf")).isFile()).toBe(true);
    const looped = await runPlan([
      { op: "SET_ROOT", path: root },
      { op: "MOUNT", source: "tmpfs", target: "/loop/x", fstype: "tmpfs", flags: 0, data: "", resolve: 1 },
    ]);
    expect(errorOf(looped.messages)).toMatchObject({ op: "MOUNT", errno: 40, path: "/loop/x" });
  });

  test("MKNOD replaces an existing file and sets owner and mode despite the umask", async () => {
    const { root } = dirs();
    mkdirSync(join(root, "dev"));
    writeFileSync(join(root, "dev/null"), "not a device");
    const { messages } = await runPlan([
      { op: "UMASK", mask: 0o077 },
      { op: "SET_ROOT", path: root },
      { op: "MKNOD", path: "/dev/null", mode: S_IFCHR | 0o666, dev: DEV_NULL, uid: 1000, gid: 1001 },
      { op: "MKNOD", path: "/dev/sub/zero", mode: S_IFCHR | 0o640, dev: 261, uid: 0, gid: 0 },
    ]);
    expect(messages).toEqual([]);
    const st = statSync(join(root, "dev/null"));
    expect([st.isCharacterDevice(), st.mode & 0o7777, st.uid, st.gid, st.rdev]).toEqual([
      true,
      0o666,
      1000,
      1001,
      259,
    ]);
    expect(statSync(join(root, "dev/sub")).mode & 0o7777).toBe(0o755 & ~0o077);
    expect(statSync(join(root, "dev/sub/zero")).mode & 0o7777).toBe(0o640);
  });

  test("SYMLINK keeps an existing link", async () => {
    const { root } = dirs();
    symlinkSync("old", join(root, "l"));
    const { messages } = await runPlan([
      { op: "SET_ROOT", path: root },
      { op: "SYMLINK", target: "new", linkpath: "/l" },
    ]);
    expect(messages).toEqual([]);
    expect(readlinkSync(join(root, "l"))).toBe("old");
  });

  test("an op that needs the root before SET_ROOT fails with EBADF", async () => {
    const { messages } = await runPlan([{ op: "MASK", path: "/etc" }]);
    expect(errorOf(messages)).toMatchObject({ index: 0, op: "MASK", errno: Errno.EBADF, path: "/etc" });
  });
});

describe("pivot_root and masking", () => {
  test("PIVOT_ROOT mode 0 enters the root and leaves no trace of the old one; MASK hides files and directories", async () => {
    const { root } = dirs();
    mkdirSync(join(root, "etc"));
    writeFileSync(join(root, "etc/secret"), "top secret");
    mkdirSync(join(root, "secretdir"));
    writeFileSync(join(root, "secretdir/file"), "x");
    const { messages, exit } = await runPlan([
      ...minimalRoot(root),
      {
        op: "MOUNT",
        source: "tmpfs",
        target: "/run/x",
        fstype: "tmpfs",
        flags: 0,
        data: "size=1m",
        resolve: 1,
      },
      {
        op: "MOUNT",
        source: "/etc/hostname",
        target: "/etc/hostname",
        fstype: "",
        flags: MS.BIND,
        data: "",
        resolve: 2,
      },
      { op: "PIVOT_ROOT", mode: 0 },
      { op: "MASK", path: "/etc/secret" },
      { op: "MASK", path: "/secretdir" },
      { op: "MASK", path: "/not/there" },
      { op: "CHDIR", path: "/" },
      sh(
        "ls /; echo --; cat /etc/secret; ls /secretdir; touch /usr/x 2>/dev/null || echo ro; " +
          "cat /etc/hostname; echo --; cut -d' ' -f5 /proc/self/mountinfo",
      ),
    ]);
    expect(messages).toEqual([]);
    const [ls, rest, mounts] = exit.stdout.split("--\n");
    expect(ls).toBe("bin\ndev\netc\nlib\nlib64\nproc\nrun\nsecretdir\nusr\n");
    expect(rest).toBe(`ro\n${readFileSync("/etc/hostname", "utf8")}`);
    expect(mounts!.trim().split("\n").sort()).toEqual(
      ["/", "/usr", "/proc", "/run/x", "/etc/hostname", "/etc/secret", "/secretdir"].sort(),
    );
    expect(exit.code).toBe(0);
  });

  test("MOUNT resolve 3 makes an existing path read-only and skips a missing one", async () => {
    const { root } = dirs();
    mkdirSync(join(root, "ro"));
    const ro = (target: string): Op[] => [
      { op: "MOUNT", source: target, target, fstype: "", flags: MS.BIND | MS.REC, data: "", resolve: 3 },
      {
        op: "MOUNT",
        source: "",
        target,
        fstype: "",
        flags: MS.BIND | MS.REC | MS.REMOUNT | MS.RDONLY,
        data: "",
        resolve: 3,
      },
    ];
    const { messages, exit } = await runPlan([
      ...minimalRoot(root),
      { op: "PIVOT_ROOT", mode: 0 },
      ...ro("/ro"),
      ...ro("/missing"),
      sh("touch /ro/x 2>/dev/null || echo ro; ls /"),
    ]);
    expect(messages).toEqual([]);
    expect(exit).toMatchObject({ code: 0, stdout: "ro\nbin\ndev\nlib\nlib64\nproc\nro\nusr\n" });
  });

  test("PIVOT_ROOT mode 1 (--no-pivot) moves the root onto / and chroots", async () => {
    const { root } = dirs();
    const { messages, exit } = await runPlan([
      ...minimalRoot(root),
      { op: "PIVOT_ROOT", mode: 1 },
      { op: "CHDIR", path: "/" },
      sh("ls /"),
    ]);
    expect(messages).toEqual([]);
    expect(exit).toMatchObject({ code: 0, stdout: "bin\ndev\nlib\nlib64\nproc\nusr\n" });
  });

  for (const [what, make] of [
    ["a symlink", (p: string) => symlinkSync("/etc/secret", p)],
    ["a regular file", (p: string) => writeFileSync(p, "")],
  ] as const) {
    test(`CVE-2025-31133: MASK refuses a /dev/null that is ${what}`, async () => {
      const { root } = dirs();
      mkdirSync(join(root, "dev"));
      mkdirSync(join(root, "etc"));
      writeFileSync(join(root, "etc/secret"), "top secret");
      make(join(root, "dev/null"));
      const plan = minimalRoot(root).filter((o) => o.op !== "MKNOD");
      const { messages, exit } = await runPlan([
        ...plan,
        { op: "PIVOT_ROOT", mode: 0 },
        { op: "MASK", path: "/etc/secret" },
        sh("true"),
      ]);
      expect(errorOf(messages)).toMatchObject({
        index: plan.length + 1,
        op: "MASK",
        errno: Errno.EACCES,
        path: "/dev/null",
        message: "masking device is not /dev/null",
      });
      expect(exit.code).toBe(1);
    });
  }

  test("CVE-2024-21626: CHDIR into a leaked host directory fd is refused", async () => {
    const { root } = dirs();
    const { messages } = await runPlan([
      // The helper's first open gets fd 3 (0-2 are stdio; the sync socket moved to >= 100).
      { op: "OPEN_FIFO", path: tmpdir() },
      ...minimalRoot(root),
      { op: "PIVOT_ROOT", mode: 0 },
      { op: "CHDIR", path: "/proc/self/fd/3" },
      sh("pwd"),
    ]);
    expect(errorOf(messages)).toMatchObject({
      op: "CHDIR",
      errno: Errno.ENOENT,
      path: "/proc/self/fd/3",
      message: "working directory outside the container",
    });
  });
});

describe("user namespaces", () => {
  test("a remount in a user namespace is retried with the flags the kernel locked", async () => {
    const { outside } = dirs();
    using h = new HelperRun();
    h.send(
      planFrame([
        ...privateMountNs,
        {
          op: "MOUNT",
          source: "tmpfs",
          target: outside,
          fstype: "tmpfs",
          flags: MS.NOSUID | MS.NODEV | MS.NOEXEC,
          data: "",
          resolve: 0,
        },
        // Copying the mount namespace into a new user namespace locks nosuid, nodev, noexec.
        { op: "UNSHARE", flags: CLONE_NEWUSER | CLONE_NEWNS },
        { op: "SYNC", tag: 1 },
        {
          op: "MOUNT",
          source: "",
          target: outside,
          fstype: "",
          flags: MS.REMOUNT | MS.BIND | MS.RDONLY,
          data: "",
          resolve: 0,
        },
        sh(`grep ' ${outside} ' /proc/self/mountinfo | cut -d' ' -f6`),
      ]),
    );
    const sync = h.next();
    if (sync?.type !== "sync") throw new Error(`expected SYNC, got ${JSON.stringify(sync)}`);
    /* sync 1: id maps written */
    writeFileSync(`/proc/${sync.pid}/uid_map`, "0 0 1");
    writeFileSync(`/proc/${sync.pid}/gid_map`, "0 0 1");
    h.send(resumeFrame(1));
    expect(h.drain()).toEqual([]);
    expect(await h.finish()).toMatchObject({ code: 0, stdout: "ro,nosuid,nodev,noexec,relatime\n" });
  });
});
