// The rootless fallbacks, forced with LEOPARD_ROOTLESS_ROOTFS (this kernel allows overlay in a user
// namespace, so they would not run otherwise), as a real unprivileged user, on the three-layer
// image of test/rootless/layers-image.ts:
// - fuse-overlayfs (src/image/fuse-overlayfs.ts): the layers' whiteout and opaque directory,
//   writes only in the container's upper directory with the container's owners, a second
//   container isolated, restart, commit, and nothing left — no fuse-overlayfs process, no mount —
//   once a container has exited, on rm, and when fuse-overlayfs cannot run (/dev/fuse 0600);
// - its upper directory beside rootless podman's with fuse-overlayfs as the mount program after
//   the same changes: the same entries, owners and opaque marks (and both the expected ones);
// - the fallback order unforced (the probe's kept answer saying the kernel refuses);
// - the copy, the last resort: the same view, Driver "copy", and `--debug` saying why.
// /dev/fuse is 0600 on this machine (no udev; distributions ship it 0666): made 0666 for the
// tests, its mode put back afterwards.
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, lstatSync, readdirSync, readFileSync, statSync } from "node:fs";
import { lgetxattr } from "../../src/image/ffi.ts";
import { oneLine, PODMAN, type Result, type RootlessUser, RUNC, TOP } from "./harness.ts";
import { layeredWhy, savedLayerEntries, useLayeredImage } from "./layers-image.ts";

const LEOPARD = `${TOP}/bin/leopard`;
const FUSE = "/dev/fuse";
const why =
  layeredWhy() ??
  (Bun.which("fuse-overlayfs") && existsSync(FUSE) ? undefined : "fuse-overlayfs and /dev/fuse are needed");
let user: RootlessUser;
let image: string;
let storage: string;
let fuseMode = 0;

const as = (driver: string) => ({ LEOPARD_ROOTLESS_ROOTFS: driver });
const fuse = (...args: string[]): Result => user.run([LEOPARD, ...args], { env: as("fuse-overlayfs") });
const leopard = (...args: string[]): Result => user.run([LEOPARD, ...args]);

/**
 * The user's running fuse-overlayfs processes. An exited one whose starter has exited too is a
 * zombie until whatever adopted it reaps it (here the test's ancestor, not an init): not counted.
 */
function fuseProcesses(): number[] {
  const r = Bun.spawnSync(["pgrep", "-U", String(user.uid), "-x", "fuse-overlayfs"], { stdout: "pipe" });
  return r.stdout
    .toString()
    .split("\n")
    .filter(Boolean)
    .map(Number)
    .filter((p) => {
      try {
        return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${p}/stat`, "utf8"));
      } catch {
        return false; // gone meanwhile
      }
    });
}

/** Host mounts (this namespace's) under the user's storage. */
function hostMounts(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => l.includes(storage));
}

let procsLeft: number[] = [];
useLayeredImage(why, {
  ready: (w) => {
    ({ user, image, storage } = w);
  },
  before: () => {
    fuseMode = statSync(FUSE).mode & 0o7777;
    chmodSync(FUSE, 0o666);
  },
  beforeCleanup: () => {
    procsLeft = fuseProcesses();
  },
  afterCleanup: () => {
    chmodSync(FUSE, fuseMode);
    expect(procsLeft).toEqual([]);
    expect(statSync(FUSE).mode & 0o7777).toBe(fuseMode);
  },
});

/** The snapshots' files, path → size, to show that no container wrote into them. */
function snapshots(): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = `${d}/${n}`;
      const st = lstatSync(p);
      out.set(p, st.size);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(`${storage}/snapshots`);
  return out;
}

describe.skipIf(why !== undefined)("rootless root filesystems: fuse-overlayfs (forced)", () => {
  test("run sees the image's layers through fuse-overlayfs, which the container cannot see", () => {
    const r = fuse(
      "run",
      "--rm",
      "--network",
      "none",
      image,
      "sh",
      "-c",
      "cat /etc/keep; echo; ls /var/cache; test -e /etc/gone || echo gone; grep -c ' / / .* - fuse.fuse-overlayfs ' /proc/self/mountinfo; id -u; cat /proc/[0-9]*/comm | grep -c fuse-overlayfs",
    );
    expect(r.stderr).toBe("");
    // (grep -c prints 0 and exits 1: the last command's status is the shell's)
    expect(r).toMatchObject({ code: 1, stdout: "kept\nnew\ngone\n1\n0\n0\n" });
    // --rm: the container and its fuse-overlayfs are gone.
    expect(fuseProcesses()).toEqual([]);
    expect(readdirSync(`${storage}/containers`)).toEqual([]);
  });

  test("a user other than root in the container reads the layers and writes (FUSE admits it)", () => {
    const r = fuse(
      "run",
      "--rm",
      "--network",
      "none",
      "--user",
      "5:6",
      image,
      "sh",
      "-c",
      "cat /etc/keep; echo; touch /tmp/mine && ls -ln /tmp/mine | awk '{print $3, $4}'",
    );
    expect(r).toMatchObject({ code: 0, stdout: "kept\n5 6\n", stderr: "" });
  });

  test("writes go to the upper directory with the container's owners; another container does not see them; commit and cp take them", () => {
    const before = snapshots();
    const c = fuse(
      "run",
      "--name",
      "w1",
      "--network",
      "none",
      image,
      "sh",
      "-c",
      "echo written > /etc/written && rm /etc/keep && chown 5:6 /etc/written && rm -r /var/cache && mkdir /var/cache && echo again > /var/cache/again",
    );
    expect(c).toMatchObject({ code: 0, stderr: "" });
    const id = leopard("inspect", "--format", "{{.Id}}", "w1").stdout.trim();
    const dir = `${storage}/containers/${id}`;
    expect(leopard("inspect", "--format", "{{.Driver}}", "w1").stdout.trim()).toBe("fuse-overlayfs");
    // Exited: its fuse-overlayfs has gone, and the host never had the mount.
    expect(fuseProcesses()).toEqual([]);
    expect(hostMounts()).toEqual([]);
    expect(readdirSync(`${dir}/merged`)).toEqual([]);
    expect(readFileSync(`${dir}/upper/etc/written`, "utf8")).toBe("written\n");
    // Container uid 5 / gid 6 are the user's fifth and sixth subordinate ids on the host, as
    // with the kernel's overlay (test/rootless/overlay.test.ts).
    const st = lstatSync(`${dir}/upper/etc/written`);
    expect([st.uid, st.gid]).toEqual([user.sub.start + 4, user.sub.start + 5]);
    const wh = lstatSync(`${dir}/upper/etc/keep`);
    expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
    expect(readdirSync(`${dir}/upper/var/cache`).sort()).toEqual([".wh..opq", ".wh..wh..opq", "again"]);
    expect(snapshots()).toEqual(before);

    const other = fuse(
      "run",
      "--rm",
      "--network",
      "none",
      image,
      "sh",
      "-c",
      "cat /etc/keep /var/cache/new; test -e /etc/written || echo absent",
    );
    expect(other).toMatchObject({ code: 0, stdout: "keptnewabsent\n", stderr: "" });

    const cp = leopard("cp", "w1:/var/cache/again", `${user.work}/out`);
    expect(cp).toMatchObject({ code: 0, stderr: "" });
    expect(readFileSync(`${user.work}/out`, "utf8")).toBe("again\n");

    // The committed layer: /etc/written, /etc/keep deleted, /var/cache opaque with "again"
    // alone — fuse-overlayfs's marks read as overlay's. (Owners: a rootless store unpacks every
    // file as the user's, src/image/layer-writer.ts, so 5:6 in the layer is root's here.)
    const commit = leopard("commit", "w1", "rootless/fuse-committed:1");
    expect(commit).toMatchObject({ code: 0, stderr: "" });
    const r = fuse(
      "run",
      "--rm",
      "--network",
      "none",
      "rootless/fuse-committed:1",
      "sh",
      "-c",
      "cat /etc/written; test -e /etc/keep || echo keep-gone; ls -A /var/cache; ls -ln /etc/written | awk '{print $3, $4}'",
    );
    expect(r).toMatchObject({ code: 0, stdout: "written\nkeep-gone\nagain\n0 0\n", stderr: "" });
    // The new layer (the one with etc/written) itself: the file is 5:6, the container's owner mapped back from the host's.
    const entries = savedLayerEntries(user, leopard, "rootless/fuse-committed:1", "etc/written");
    expect(entries.code).toBe(0);
    expect(
      entries.stdout
        .split("\n")
        .filter((l) => / (etc\/written|var\/cache\/.*)$/.test(l))
        .join("\n"),
      // (one opaque marker: fuse-overlayfs's own two entries are not carried into the layer)
    ).toBe("0/0 var/cache/\n0/0 var/cache/.wh..wh..opq\n0/0 var/cache/again\n5/6 etc/written");

    expect(leopard("rm", "w1").code).toBe(0);
    expect(existsSync(dir)).toBe(false);
  });

  test("a running container has one fuse-overlayfs; stop ends it, start makes another over the same upper directory, rm leaves nothing", () => {
    const d = fuse("run", "-d", "--name", "r1", "--network", "none", image, "sleep", "1000");
    expect(d).toMatchObject({ code: 0, stderr: "" });
    const id = d.stdout.trim();
    const first = fuseProcesses();
    expect(first.length).toBe(1);
    // Its mount is in its own mount namespace, not the host's.
    const merged = `${storage}/containers/${id}/merged`;
    expect(readFileSync(`/proc/${first[0]}/mountinfo`, "utf8")).toContain(` ${merged} `);
    expect(hostMounts()).toEqual([]);
    expect(leopard("exec", "r1", "sh", "-c", "echo in > /etc/in")).toMatchObject({ code: 0, stderr: "" });
    // cp: FUSE admits only fuse-overlayfs's user namespace, not the engine's: out reads the
    // layers (what exec wrote is in the upper one), in is refused in one line.
    expect(leopard("cp", "r1:/etc/in", `${user.work}/in`)).toMatchObject({ code: 0 });
    expect(readFileSync(`${user.work}/in`, "utf8")).toBe("in\n");
    const cpIn = leopard("cp", `${user.work}/in`, "r1:/etc/in2");
    expect(cpIn.code).not.toBe(0);
    expect(cpIn.stderr.trim().split("\n").at(-1)).toBe(
      `leopard: cp ${user.work}/in: the container's root filesystem is fuse-overlayfs (rootless), which only the container's user namespace may enter: copying into it is not supported`,
    );
    expect(leopard("stop", "-t", "0", "r1").code).toBe(0);
    expect(fuseProcesses()).toEqual([]);
    // start: no LEOPARD_ROOTLESS_ROOTFS needed, the container's root is fuse-overlayfs already.
    expect(leopard("start", "r1")).toMatchObject({ code: 0, stderr: "" });
    const second = fuseProcesses();
    expect(second.length).toBe(1);
    expect(second).not.toEqual(first);
    expect(leopard("exec", "r1", "cat", "/etc/in", "/etc/keep")).toMatchObject({
      code: 0,
      stdout: "in\nkept",
      stderr: "",
    });
    expect(leopard("rm", "--force", "r1").code).toBe(0);
    expect(fuseProcesses()).toEqual([]);
    expect(existsSync(`${storage}/containers/${id}`)).toBe(false);
  });

  test("with the default rootless network (pasta) and a published port", async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const d = fuse(
      "run",
      "-d",
      "--name",
      "n1",
      "-p",
      `127.0.0.1:${port}:8080`,
      image,
      "sh",
      "-c",
      "mkdir -p /srv && echo hi > /srv/i && exec httpd -f -p 8080 -h /srv",
    );
    expect(d).toMatchObject({ code: 0, stderr: "" });
    expect(leopard("port", "n1", "8080").stdout).toBe(`127.0.0.1:${port}\n`);
    let body = "";
    for (let i = 0; i < 100 && body === ""; i++) {
      body = await fetch(`http://127.0.0.1:${port}/i`).then(
        (r) => (r.ok ? r.text() : ""),
        () => "",
      );
      if (body === "") await Bun.sleep(50);
    }
    expect(body).toBe("hi\n");
    expect(leopard("rm", "--force", "n1").code).toBe(0);
    expect(fuseProcesses()).toEqual([]);
  });

  test("/dev/fuse the user cannot open: a forced fuse-overlayfs fails in one line, leaving nothing", () => {
    chmodSync(FUSE, 0o600);
    try {
      const r = fuse("run", "--rm", "--network", "none", image, "true");
      expect(r.code).toBe(125);
      expect(oneLine(r.stderr)).toEqual({
        line: `leopard: run ${image}: LEOPARD_ROOTLESS_ROOTFS=fuse-overlayfs cannot be used: /dev/fuse cannot be opened (EACCES; distributions make it 0666)`,
        lines: 1,
      });
      // Unforced, the fallback order ends at the copy where overlay would be refused; here the
      // kernel allows overlay, so a plain run is unaffected.
      expect(leopard("run", "--rm", "--network", "none", image, "cat", "/etc/keep")).toMatchObject({
        code: 0,
        stdout: "kept",
      });
    } finally {
      chmodSync(FUSE, 0o666);
    }
    expect(readdirSync(`${storage}/containers`)).toEqual([]);
    expect(fuseProcesses()).toEqual([]);
  });

  test("fuse-overlayfs that fails to mount: start fails in one line naming it, no process is left, rm works", () => {
    const c = fuse("create", "--name", "f1", "--network", "none", image, "true");
    expect(c).toMatchObject({ code: 0, stderr: "" });
    const id = c.stdout.trim();
    // Its mount point gone: fuse-overlayfs cannot mount.
    expect(user.run(["rmdir", `${storage}/containers/${id}/merged`]).code).toBe(0);
    const s = leopard("start", "f1");
    expect(s.code).not.toBe(0);
    const { line, lines } = oneLine(s.stderr);
    expect(lines).toBe(1);
    const merged = `${storage}/containers/${id}/merged`;
    expect(line).toBe(
      `leopard: f1: fuse-overlayfs exited (status 1) before it mounted: fuse: failed to access mountpoint ${merged}: No such file or directory; fuse-overlayfs: cannot mount: No such file or directory`,
    );
    expect(fuseProcesses()).toEqual([]);
    expect(existsSync(`${storage}/containers/${id}/fuse-overlayfs.pid`)).toBe(false);
    expect(leopard("inspect", "--format", "{{.State.Status}}", "f1").stdout.trim()).toBe("created");
    expect(leopard("rm", "f1").code).toBe(0);
    expect(existsSync(`${storage}/containers/${id}`)).toBe(false);
  });

  test("the fallback order unforced: kernel overlay refused (the probe's answer) → fuse-overlayfs → copy (/dev/fuse 0600)", () => {
    // The probe's kept answer, as an older kernel would leave it (src/image/userns-overlay-probe.ts).
    const probe = `${storage}/overlay-userns.json`;
    const kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
    const keep = {
      kernel,
      dev: statSync(storage).dev,
      refused: "mounting overlayfs in a user namespace failed: (test)",
    };
    expect(user.run(["sh", "-c", `printf '%s' '${JSON.stringify(keep)}' > ${probe}`]).code).toBe(0);
    try {
      const f = leopard("--debug", "run", "--name", "a1", "--network", "none", image, "cat", "/etc/keep");
      expect(f).toMatchObject({ code: 0, stdout: "kept" });
      expect(f.stderr).toContain(
        "leopard: debug: root filesystem on fuse-overlayfs, not overlaid by the kernel: mounting overlayfs in a user namespace failed: (test)\n",
      );
      expect(leopard("inspect", "--format", "{{.Driver}}", "a1").stdout.trim()).toBe("fuse-overlayfs");
      chmodSync(FUSE, 0o600);
      try {
        const c = leopard("--debug", "run", "--name", "a2", "--network", "none", image, "cat", "/etc/keep");
        expect(c).toMatchObject({ code: 0, stdout: "kept" });
        expect(c.stderr).toContain(
          "leopard: debug: root filesystem copied, not overlaid: mounting overlayfs in a user namespace failed: (test); fuse-overlayfs cannot be used: /dev/fuse cannot be opened (EACCES; distributions make it 0666)\n",
        );
        expect(leopard("inspect", "--format", "{{.Driver}}", "a2").stdout.trim()).toBe("copy");
      } finally {
        chmodSync(FUSE, 0o666);
      }
    } finally {
      user.run(["rm", "-f", probe]);
    }
    expect(leopard("rm", "a1", "a2").code).toBe(0);
    expect(fuseProcesses()).toEqual([]);
  });

  test("an unknown LEOPARD_ROOTLESS_ROOTFS is refused in one line", () => {
    const r = user.run([LEOPARD, "run", "--rm", "--network", "none", image, "true"], { env: as("zfs") });
    expect(r.code).toBe(125);
    expect(oneLine(r.stderr)).toEqual({
      line: `leopard: run ${image}: LEOPARD_ROOTLESS_ROOTFS="zfs" is not one of auto, overlay, fuse-overlayfs, copy`,
      lines: 1,
    });
    expect(readdirSync(`${storage}/containers`)).toEqual([]);
  });
});

/** What a container's changes left in an upper directory: entries, types, owners, opaque marks. */
function describeUpper(up: string): string[] {
  const one = (rel: string): string => {
    const st = lstatSync(`${up}/${rel}`);
    const type = st.isCharacterDevice() ? `c${st.rdev}` : st.isDirectory() ? "d" : st.isFile() ? "f" : "?";
    const opq = st.isDirectory() ? lgetxattr(`${up}/${rel}`, "user.fuseoverlayfs.opaque") : undefined;
    const owner = `${st.uid - user.uid === 0 ? "user" : `sub+${st.uid - user.sub.start}`}:${st.gid - user.gid === 0 ? "user" : `sub+${st.gid - user.sub.start}`}`;
    return `${rel} ${type} ${owner}${opq === undefined ? "" : ` opaque=${new TextDecoder().decode(opq)}`}`;
  };
  return [
    one("etc/written"),
    one("etc/keep"),
    one("var/cache"),
    ...readdirSync(`${up}/var/cache`)
      .sort()
      .map((n) => one(`var/cache/${n}`)),
  ];
}

const CHANGES =
  "echo w > /etc/written && chown 5:6 /etc/written && rm /etc/keep && rm -r /var/cache && mkdir /var/cache && echo again > /var/cache/again";

describe.skipIf(why !== undefined || PODMAN === undefined)(
  "fuse-overlayfs's upper directory: leopard's as rootless podman's (overlay.mount_program=fuse-overlayfs)",
  () => {
    test("the same changes leave the same entries, owners and marks", () => {
      const c = fuse("run", "--name", "cmp", "--network", "none", image, "sh", "-c", CHANGES);
      expect(c).toMatchObject({ code: 0, stderr: "" });
      const id = leopard("inspect", "--format", "{{.Id}}", "cmp").stdout.trim();
      const ours = describeUpper(`${storage}/containers/${id}/upper`);
      const root = `${user.work}/podman-root`;
      const podman = (...args: string[]): Result =>
        user.run([
          PODMAN ?? "podman",
          "--root",
          root,
          "--runroot",
          `${user.work}/podman-run`,
          "--storage-driver",
          "overlay",
          "--storage-opt",
          "overlay.mount_program=/usr/bin/fuse-overlayfs",
          "--cgroup-manager",
          "cgroupfs",
          "--events-backend",
          "file",
          "--runtime",
          RUNC,
          ...args,
        ]);
      try {
        expect(podman("pull", "-q", "--tls-verify=false", image).code).toBe(0);
        const p = podman("run", "--name", "cmp", "--network", "none", image, "sh", "-c", CHANGES);
        expect(p).toMatchObject({ code: 0, stderr: "" });
        const up = podman("inspect", "--format", "{{.GraphDriver.Data.UpperDir}}", "cmp").stdout.trim();
        const theirs = describeUpper(up);
        // Both: uid 5/gid 6 are the fifth and sixth subordinate ids; a 0/0 whiteout; the opaque
        // directory as fuse-overlayfs marks it.
        expect(ours).toEqual([
          "etc/written f sub+4:sub+5",
          "etc/keep c0 user:user",
          "var/cache d user:user opaque=y",
          "var/cache/.wh..opq c0 user:user",
          "var/cache/.wh..wh..opq f user:user",
          "var/cache/again f user:user",
        ]);
        expect(theirs).toEqual(ours);
      } finally {
        podman("rm", "--force", "cmp");
        user.run([
          PODMAN ?? "podman",
          "--root",
          root,
          "--runroot",
          `${user.work}/podman-run`,
          "system",
          "reset",
          "-f",
        ]);
        expect(leopard("rm", "cmp").code).toBe(0);
      }
    });
  },
);

describe.skipIf(why !== undefined)("rootless root filesystems: the copy (forced)", () => {
  const copy = (...args: string[]): Result => user.run([LEOPARD, ...args], { env: as("copy") });

  test("the copy shows the layers as the overlays do; --debug says why; commit needs an overlay", () => {
    const r = copy(
      "--debug",
      "run",
      "--name",
      "c1",
      "--network",
      "none",
      image,
      "sh",
      "-c",
      "cat /etc/keep; echo; ls /var/cache; test -e /etc/gone || echo gone; id -u; echo x > /etc/x",
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("kept\nnew\ngone\n0\n");
    expect(r.stderr).toContain(
      "leopard: debug: root filesystem copied, as LEOPARD_ROOTLESS_ROOTFS=copy asks\n",
    );
    expect(leopard("inspect", "--format", "{{.Driver}}", "c1").stdout.trim()).toBe("copy");
    const id = leopard("inspect", "--format", "{{.Id}}", "c1").stdout.trim();
    // The container's writes are in its copy (no upper directory).
    expect(readFileSync(`${storage}/containers/${id}/rootfs/etc/x`, "utf8")).toBe("x\n");
    expect(existsSync(`${storage}/containers/${id}/upper`)).toBe(false);
    const commit = leopard("commit", "c1", "rootless/copied:1");
    expect(commit.code).not.toBe(0);
    expect(oneLine(commit.stderr).line).toContain("has a copied root filesystem; commit needs overlay");
    expect(leopard("rm", "c1").code).toBe(0);
    expect(existsSync(`${storage}/containers/${id}`)).toBe(false);
  });
});
