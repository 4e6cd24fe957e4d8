// A rootless engine's root filesystems are overlays the runtime mounts inside each container's
// own user namespace (annotation org.leopard.rootfs.overlay), not copies: the image is a
// three-layer busybox whose last layer deletes a file (whiteout) and empties a directory
// (opaque), pushed to a registry on loopback and pulled by a real unprivileged user.
import { describe, expect, test } from "bun:test";
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { type Result, type RootlessUser, TOP } from "./harness.ts";
import { layeredWhy, useLayeredImage } from "./layers-image.ts";

const LEOPARD = `${TOP}/bin/leopard`;
const why = layeredWhy();
let user: RootlessUser;
let image: string;
let storage: string;

const leopard = (...args: string[]): Result => user.run([LEOPARD, ...args]);

useLayeredImage(why, {
  ready: (w) => {
    ({ user, image, storage } = w);
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

describe.skipIf(why !== undefined)(
  "rootless root filesystems: overlay in the container's user namespace",
  () => {
    test("run sees the image's layers: a whiteout deletes, an opaque directory hides what is below", () => {
      const r = leopard(
        "run",
        "--rm",
        "--network",
        "none",
        image,
        "sh",
        "-c",
        "cat /etc/keep; echo; ls /var/cache; test -e /etc/gone || echo gone; grep -c ' / / .* - overlay ' /proc/self/mountinfo; id -u",
      );
      expect(r.stderr).toBe("");
      expect(r).toMatchObject({ code: 0, stdout: "kept\nnew\ngone\n1\n0\n" });
    });

    test("writes go to the container's upper directory, not the layers; another container does not see them; commit and cp take them", () => {
      const before = snapshots();
      const c = leopard(
        "run",
        "--name",
        "w1",
        "--network",
        "none",
        image,
        "sh",
        "-c",
        "echo written > /etc/written && rm /etc/keep && rm /var/cache/new && chown 5:6 /etc/written",
      );
      expect(c).toMatchObject({ code: 0, stderr: "" });
      const id = leopard("inspect", "--format", "{{.Id}}", "w1").stdout.trim();
      const dir = `${storage}/containers/${id}`;
      expect(leopard("inspect", "--format", "{{.Driver}}", "w1").stdout.trim()).toBe("overlay-userns");
      // The copy would have filled this directory on the host; the overlay leaves it an empty mount point.
      expect(readdirSync(`${dir}/merged`)).toEqual([]);
      expect(readFileSync(`${dir}/upper/etc/written`, "utf8")).toBe("written\n");
      // Container uid 5 is the user's fifth subordinate id on the host.
      expect(lstatSync(`${dir}/upper/etc/written`).uid).toBe(user.sub.start + 4);
      const wh = lstatSync(`${dir}/upper/etc/keep`);
      expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
      expect(snapshots()).toEqual(before);

      const other = leopard(
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

      // cp out of the stopped container: the file as the container left it.
      const cp = leopard("cp", "w1:/etc/written", `${user.work}/out`);
      expect(cp).toMatchObject({ code: 0, stderr: "" });
      expect(readFileSync(`${user.work}/out`, "utf8")).toBe("written\n");

      const commit = leopard("commit", "w1", "rootless/committed:1");
      expect(commit.stderr).toBe("");
      expect(commit.code).toBe(0);
      const r = leopard(
        "run",
        "--rm",
        "--network",
        "none",
        "rootless/committed:1",
        "sh",
        "-c",
        "cat /etc/written; test -e /etc/keep || echo keep-gone; ls /var/cache | wc -l",
      );
      expect(r).toMatchObject({ code: 0, stdout: "written\nkeep-gone\n0\n", stderr: "" });

      expect(leopard("rm", "w1").code).toBe(0);
      expect(existsSync(dir)).toBe(false);
    });

    test("cp into and out of a running container goes through its own view", () => {
      const d = leopard("run", "-d", "--name", "r1", "--network", "none", image, "sleep", "1000");
      expect(d).toMatchObject({ code: 0, stderr: "" });
      user.run(["sh", "-c", `echo in > ${user.work}/in`]);
      // (stderr may warn that a rootless container without a cgroup cannot be frozen meanwhile)
      const cpIn = leopard("cp", `${user.work}/in`, "r1:/etc/in");
      expect(cpIn.stderr.split("\n").filter((l) => !l.includes("could not freeze"))).toEqual([""]);
      expect(cpIn.code).toBe(0);
      const e = leopard("exec", "r1", "cat", "/etc/in", "/etc/keep");
      expect(e).toMatchObject({ code: 0, stdout: "in\nkept", stderr: "" });
      expect(leopard("cp", "r1:/var/cache/new", `${user.work}/new`).code).toBe(0);
      expect(readFileSync(`${user.work}/new`, "utf8")).toBe("new");
      // Stopped and started again: a new user namespace mounts the same upper directory again.
      expect(leopard("stop", "-t", "0", "r1").code).toBe(0);
      expect(leopard("start", "r1").code).toBe(0);
      expect(leopard("exec", "r1", "cat", "/etc/in")).toMatchObject({ code: 0, stdout: "in\n", stderr: "" });
      expect(leopard("rm", "--force", "r1").code).toBe(0);
    });

    test("-w makes the working directory, a new volume is filled from the merged image (opaque honoured)", () => {
      const r = leopard(
        "run",
        "--rm",
        "--network",
        "none",
        "-w",
        "/srv/a/b",
        "-v",
        "cachevol:/var/cache",
        image,
        "sh",
        "-c",
        "pwd; ls /var/cache",
      );
      expect(r).toMatchObject({ code: 0, stderr: "" });
      expect(r.stdout).toBe("/srv/a/b\nnew\n");
      expect(leopard("volume", "rm", "cachevol").code).toBe(0);
    });

    test("--read-only: the overlay root is remounted read-only, writes to it fail", () => {
      const r = leopard(
        "run",
        "--rm",
        "--read-only",
        "--network",
        "none",
        image,
        "sh",
        "-c",
        "echo x > /etc/x || echo refused",
      );
      expect(r.code).toBe(0);
      expect(r.stdout).toBe("refused\n");
      expect(r.stderr).toContain("Read-only file system");
    });

    test("a missing command is 127 before anything runs, found through the layers", () => {
      const r = leopard("run", "--rm", "--network", "none", image, "nosuchcmd");
      expect(r.code).toBe(127);
      expect(r.stderr).toContain("nosuchcmd");
    });

    test("nothing of the containers is left in the storage", () => {
      leopard("rm", "--force", "--all");
      expect(readdirSync(`${storage}/containers`)).toEqual([]);
    });
  },
);
