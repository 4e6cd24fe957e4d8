// The root filesystem: config mounts in order, /dev, read-only root, bind mounts, symlink safety.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundle, mountsMentioning, oci, rootfs, trackBundles } from "./harness.ts";

const use = trackBundles();
const extra: string[] = [];
afterEach(() => {
  for (const d of extra.splice(0)) rmSync(d, { recursive: true, force: true });
});

const sh = (script: string) => ["/bin/sh", "-c", script];

describe("root filesystem", () => {
  test("the default /dev has its nodes, symlinks, pts and shm", () => {
    const b = use(
      bundle({
        args: sh(
          "ls -l /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty | awk '{print $1, $5, $6, $NF}'; for l in fd stdin ptmx; do readlink /dev/$l; done; grep -E ' /dev/(pts|shm) ' /proc/mounts | cut -d' ' -f2,3",
        ),
      }),
    );
    const r = oci(b, ["run", "c1"]);
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n").filter(Boolean)).toEqual([
      "crw-rw-rw- 1, 7 /dev/full",
      "crw-rw-rw- 1, 3 /dev/null",
      "crw-rw-rw- 1, 8 /dev/random",
      "crw-rw-rw- 5, 0 /dev/tty",
      "crw-rw-rw- 1, 9 /dev/urandom",
      "crw-rw-rw- 1, 5 /dev/zero",
      "/proc/self/fd",
      "/proc/self/fd/0",
      "pts/ptmx",
      "/dev/pts devpts",
      "/dev/shm tmpfs",
    ]);
  });

  test("the same /dev inside a user namespace, bound from the host", () => {
    const b = use(
      bundle({
        userns: true,
        args: sh("echo x > /dev/null && head -c 4 /dev/zero | wc -c && ls /dev/pts/ptmx"),
      }),
    );
    const r = oci(b, ["run", "c1"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("4\n/dev/pts/ptmx\n");
  });

  test("linux.devices are created with their type, numbers and mode", () => {
    const b = use(
      bundle({
        args: sh("ls -l /dev/loop-test | awk '{print $1, $5, $6}'"),
        edit: (c) => {
          (c["linux"] as Record<string, unknown>)["devices"] = [
            { type: "b", path: "/dev/loop-test", major: 7, minor: 200, fileMode: 0o640, uid: 0, gid: 0 },
          ];
        },
      }),
    );
    const r = oci(b, ["run", "c1"]);
    expect(r.stdout).toBe("brw-r----- 7, 200\n");
  });

  test("a linux.devices node gets only the access linux.resources.devices grants (docker --device …:r)", () => {
    // Block major 240 (local/experimental use) has no driver here: an open the cgroup allows fails with ENXIO
    // ("No such device or address"), one it refuses with EPERM.
    const b = use(
      bundle({
        args: sh("true </dev/lp && echo read-open; true >/dev/lp && echo write-open; true"),
        edit: (c) => {
          const linux = c["linux"] as Record<string, unknown>;
          linux["devices"] = [
            { type: "b", path: "/dev/lp", major: 240, minor: 0, fileMode: 0o600, uid: 0, gid: 0 },
          ];
          linux["resources"] = {
            devices: [
              { allow: false, access: "rwm" },
              { allow: true, type: "b", major: 240, minor: 0, access: "r" },
            ],
          };
        },
      }),
    );
    const r = oci(b, ["run", "c1"]);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/can't open \/dev\/lp: No such device or address/);
    expect(r.stderr).toMatch(/can't create \/dev\/lp: Operation not permitted/);
  });

  test("a read-only root refuses writes; tmpfs /tmp still takes them", () => {
    const b = use(
      bundle({
        userns: true,
        args: sh("touch /newfile 2>/dev/null && echo wrote-root; touch /tmp/ok && echo wrote-tmp"),
      }),
    );
    const r = oci(b, ["run", "c1"]);
    expect(r.stdout).toBe("wrote-tmp\n");
  });

  test("bind mounts honour ro and rbind; the host directory is unchanged", () => {
    const host = mkdtempSync(join(tmpdir(), "leopard-bind-"));
    extra.push(host);
    writeFileSync(join(host, "hello"), "from host\n");
    const b = use(
      bundle({
        args: sh(
          "cat /mnt/ro/hello; touch /mnt/ro/x 2>/dev/null && echo wrote-ro; touch /mnt/rw/y && echo wrote-rw; cat /mnt/file",
        ),
        edit: (c) => {
          (c["mounts"] as unknown[]).push(
            // A tmpfs first, so the mount points below are made in it and not in the shared rootfs.
            { destination: "/mnt", type: "tmpfs", source: "tmpfs" },
            { destination: "/mnt/ro", type: "bind", source: host, options: ["rbind", "ro"] },
            { destination: "/mnt/rw", type: "bind", source: host, options: ["bind"] },
            { destination: "/mnt/file", source: join(host, "hello"), options: ["bind", "ro"] },
          );
        },
      }),
    );
    const r = oci(b, ["run", "c1"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("from host\nwrote-rw\nfrom host\n");
    expect(readdirSync(host).sort()).toEqual(["hello", "y"]);
  });

  test("a mount destination that is a symlink out of the root lands inside the root", () => {
    // A copy of the rootfs with /etc/evil -> /tmp/<host target> (absolute: would escape if followed on the host).
    const copy = mkdtempSync(join(tmpdir(), "leopard-rootfs-"));
    extra.push(copy);
    Bun.spawnSync(["cp", "-a", `${rootfs(0)}/.`, copy]);
    const target = mkdtempSync(join(tmpdir(), "leopard-escape-target-"));
    extra.push(target);
    symlinkSync(target, join(copy, "etc/evil"));
    const b = use(
      bundle({
        args: sh("grep -c ' /tmp/leopard-escape-target' /proc/mounts"),
        edit: (c) => {
          c["root"] = { path: copy };
          (c["mounts"] as unknown[]).push({ destination: "/etc/evil", type: "tmpfs", source: "tmpfs" });
        },
      }),
    );
    const r = oci(b, ["run", "c1"]);
    expect(r.stdout.trim()).toBe("1");
    expect(readdirSync(target)).toEqual([]);
    expect(mountsMentioning(target)).toEqual([]);
  });

  test("/proc as a symlink in the image is refused", () => {
    const copy = mkdtempSync(join(tmpdir(), "leopard-rootfs-"));
    extra.push(copy);
    Bun.spawnSync(["cp", "-a", `${rootfs(0)}/.`, copy]);
    rmSync(join(copy, "proc"), { recursive: true });
    symlinkSync("/", join(copy, "proc"));
    const b = use(
      bundle({
        edit: (c) => {
          c["root"] = { path: copy };
        },
      }),
    );
    const r = oci(b, ["run", "c1"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('"/proc" is a symlink in the rootfs');
  });

  test("--no-pivot enters the root with MS_MOVE and chroot", () => {
    const b = use(bundle({ args: sh("ls / | wc -l") }));
    const r = oci(b, ["run", "--no-pivot", "c1"]);
    expect(r.stderr).toBe("");
    expect(Number(r.stdout.trim())).toBe(13);
  });

  test("--explain prints the plan as numbered shell steps", () => {
    const b = use(bundle({ userns: true }));
    const r = oci(b, ["run", "--explain", "c1"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^ +1\. /);
    for (const s of [
      "unshare --user",
      "/proc/$PID/uid_map",
      "mount --make-rslave /",
      "mount -t proc",
      "pivot_root . .",
      "umount -l",
      "exec /bin/true",
    ]) {
      expect(r.stderr).toContain(s);
    }
  });

  test("--explain then prints the timings: the runtime's phases and every op once, in plan order", () => {
    const b = use(bundle({ userns: true }));
    const r = oci(b, ["run", "--explain", "c1"]);
    expect(r.code).toBe(0);
    const [plan, timings] = r.stderr.split("timings:\n");
    const planned = (plan ?? "").split("\n").filter((l) => /^ +\d+\. /.test(l));
    const rows = (timings ?? "").split("\n").filter((l) => /^ +(-|[\d.]+ ms) +\d+\. [A-Z_0-9]+/.test(l));
    expect(rows.map((l) => Number(/(\d+)\. [A-Z]/.exec(l)?.[1]))).toEqual(planned.map((_, i) => i + 1));
    expect(timings).toContain("runtime: plan");
    expect(timings).toContain("runtime: spawn the helper");
    // The ops before WAIT_START are timed by the helper; EXEC, after start, is not.
    expect(rows.find((l) => / UNSHARE/.test(l))).toMatch(/\d ms /);
    expect(rows.find((l) => / EXEC/.test(l))).toMatch(/^ +- /);
  });

  test("joining a namespace by path shares it with another container", () => {
    const b = use(bundle({ args: ["/bin/sleep", "60"] }));
    expect(oci(b, ["run", "-d", "a"]).code).toBe(0);
    const pid = JSON.parse(oci(b, ["state", "a"]).stdout).pid as number;
    const other = bundle({
      args: ["/bin/readlink", "/proc/self/ns/net"],
      edit: (c) => {
        const ns = (c["linux"] as Record<string, unknown>)["namespaces"] as { type: string; path?: string }[];
        for (const n of ns) if (n.type === "network") n.path = `/proc/${pid}/ns/net`;
      },
    });
    try {
      const r = oci(other, ["run", "b"]);
      expect(r.stderr).toBe("");
      expect(r.stdout.trim()).toBe(require("node:fs").readlinkSync(`/proc/${pid}/ns/net`));
    } finally {
      other.cleanup();
    }
    expect(oci(b, ["delete", "-f", "a"]).code).toBe(0);
  });

  test("multi-range uid and gid mappings are all written", () => {
    const b = use(
      bundle({
        userns: true,
        args: ["/bin/cat", "/proc/self/uid_map", "/proc/self/gid_map"],
        edit: (c) => {
          const linux = c["linux"] as Record<string, unknown>;
          linux["uidMappings"] = [
            { containerID: 0, hostID: 100000, size: 1000 },
            { containerID: 1000, hostID: 300000, size: 64536 },
          ];
          linux["gidMappings"] = [
            { containerID: 0, hostID: 100000, size: 1000 },
            { containerID: 1000, hostID: 400000, size: 64536 },
          ];
        },
      }),
    );
    const r = oci(b, ["run", "c1"]);
    expect(r.stderr).toBe("");
    expect(
      r.stdout
        .trim()
        .split("\n")
        .map((l) => l.trim().split(/\s+/).join(" ")),
    ).toEqual(["0 100000 1000", "1000 300000 64536", "0 100000 1000", "1000 400000 64536"]);
  });

  test("process user, groups, cwd and env apply", () => {
    const b = use(
      bundle({
        userns: true,
        args: sh('id -u; id -g; id -G; pwd; echo "$FOO"'),
        edit: (c) => {
          const p = c["process"] as Record<string, unknown>;
          p["user"] = { uid: 1000, gid: 1000, additionalGids: [5, 1000] };
          p["cwd"] = "/tmp";
          p["env"] = ["PATH=/bin", "FOO=bar baz"];
        },
      }),
    );
    mkdirSync(b.dir, { recursive: true });
    const r = oci(b, ["run", "c1"]);
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n").slice(0, 5)).toEqual(["1000", "1000", "1000 5", "/tmp", "bar baz"]);
  });
});

describe("root filesystem propagation and names", () => {
  test("under rootfsPropagation rshared the root itself is not shared, as with runc (volumes carry the sharing: propagation.test.ts)", () => {
    const b = use(
      bundle({
        args: ["/bin/sh", "-c", "awk '$5 == \"/\"' /proc/self/mountinfo"],
        edit: (c) => {
          (c["linux"] as Record<string, unknown>)["rootfsPropagation"] = "rshared";
        },
      }),
    );
    const r = oci(b, ["run", "c1"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain(" / ");
    expect(r.stdout).not.toMatch(/ shared:\d+/);
  });

  test("the default root propagation is slave: the root is not shared", () => {
    const b = use(bundle({ args: ["/bin/sh", "-c", "awk '$5 == \"/\"' /proc/self/mountinfo"] }));
    const r = oci(b, ["run", "c1"]);
    expect(r.stdout).not.toMatch(/ shared:\d+/);
  });

  test("hostname and domainname are set in the new uts namespace", () => {
    const b = use(
      bundle({
        args: ["/bin/sh", "-c", "hostname; cat /proc/sys/kernel/domainname"],
        edit: (c) => {
          c["hostname"] = "box1";
          c["domainname"] = "example.test";
        },
      }),
    );
    expect(oci(b, ["run", "c1"]).stdout).toBe("box1\nexample.test\n");
  });
});
