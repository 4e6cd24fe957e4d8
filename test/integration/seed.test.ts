// The classic walkthrough's observations, each asserted from inside the container and from the host.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { bundle, hostNs, MAPPED_BASE, oci, readState, trackBundles, until } from "./harness.ts";

const use = trackBundles();

describe("the seed container", () => {
  test("run returns the container's exit status", () => {
    const b = use(bundle({ userns: true, args: ["/bin/sh", "-c", "exit 3"] }));
    expect(oci(b, ["run", "c1"]).code).toBe(3);
    b.config["process"] = { ...(b.config["process"] as object), args: ["/bin/true"] };
    b.write();
    expect(oci(b, ["run", "c1"]).code).toBe(0);
  });

  test("the hostname inside is leopard while the host keeps its own", () => {
    const b = use(bundle({ userns: true, args: ["/bin/hostname"] }));
    const r = oci(b, ["run", "c1"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("leopard\n");
    expect(hostname()).not.toBe("leopard");
  });

  test("root inside is an unprivileged mapped uid on the host", async () => {
    const b = use(
      bundle({ userns: true, args: ["/bin/sh", "-c", "id -u; id -g; cat /proc/self/uid_map; sleep 30"] }),
    );
    const r = oci(b, ["run", "-d", "c1"]);
    expect(r.code).toBe(0);
    const pid = readState(b, "c1")["pid"] as number;
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    expect(status).toMatch(new RegExp(`^Uid:\\s+${MAPPED_BASE}\\s+${MAPPED_BASE}\\s`, "m"));
    expect(status).toMatch(new RegExp(`^Gid:\\s+${MAPPED_BASE}\\s+${MAPPED_BASE}\\s`, "m"));
    expect(oci(b, ["delete", "--force", "c1"]).code).toBe(0);
    b.config["process"] = {
      ...(b.config["process"] as object),
      args: ["/bin/sh", "-c", "id -u; id -g; cat /proc/self/uid_map"],
    };
    b.write();
    const inside = oci(b, ["run", "c2"]);
    const lines = inside.stdout.split("\n").map((l) => l.trim().replace(/\s+/g, " "));
    expect(lines.slice(0, 3)).toEqual(["0", "0", `0 ${MAPPED_BASE} 65536`]);
  });

  test("ps inside shows PID 1 and only the container's own processes", () => {
    const b = use(bundle({ userns: true, args: ["/bin/sh", "-c", "echo $$; ps -o pid,comm; true"] }));
    const r = oci(b, ["run", "c1"]);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe("1");
    // header, sh (pid 1) and ps itself
    expect(lines.slice(1).map((l) => l.trim().split(/\s+/))).toEqual([
      ["PID", "COMMAND"],
      ["1", "sh"],
      [expect.stringMatching(/^\d+$/) as unknown as string, "ps"],
    ]);
  });

  test("namespace inodes differ from the host's for each requested namespace and equal the others", () => {
    const kinds = ["pid", "mnt", "uts", "ipc", "net", "user", "cgroup", "time"];
    const b = use(
      bundle({
        userns: true,
        args: ["/bin/sh", "-c", `for n in ${kinds.join(" ")}; do readlink /proc/self/ns/$n; done`],
        edit: (c) =>
          ((c["linux"] as Record<string, unknown[]>)["namespaces"] as unknown[]).push({ type: "cgroup" }),
      }),
    );
    const r = oci(b, ["run", "c1"]);
    expect(r.code).toBe(0);
    const inside = r.stdout.trim().split("\n");
    expect(inside.length).toBe(kinds.length);
    kinds.forEach((k, i) => {
      if (k === "time") expect(inside[i]).toBe(hostNs(k));
      else expect(inside[i]).not.toBe(hostNs(k));
    });
  });

  test("a time namespace shifts the boot clock by its offset", () => {
    const b = use(
      bundle({
        args: ["/bin/cat", "/proc/uptime"],
        edit: (c) => {
          const linux = c["linux"] as Record<string, unknown>;
          (linux["namespaces"] as unknown[]).push({ type: "time" });
          linux["timeOffsets"] = {
            boottime: { secs: 1000000, nanosecs: 0 },
            monotonic: { secs: 500, nanosecs: 0 },
          };
        },
      }),
    );
    const r = oci(b, ["run", "c1"]);
    expect(r.stderr).toBe("");
    const hostUptime = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    const uptime = Number(r.stdout.split(" ")[0]);
    expect(uptime).toBeGreaterThanOrEqual(1000000 + hostUptime - 5);
  });

  test("a file in the container's tmpfs /tmp is absent on the host", async () => {
    const name = `leopard-secret-${process.pid}`;
    const b = use(bundle({ userns: true, args: ["/bin/sh", "-c", `echo secret > /tmp/${name}; sleep 30`] }));
    expect(oci(b, ["run", "-d", "c1"]).code).toBe(0);
    const pid = readState(b, "c1")["pid"] as number;
    await until(() => existsSync(`/proc/${pid}/root/tmp/${name}`), 10_000, "the file inside");
    expect(readFileSync(`/proc/${pid}/root/tmp/${name}`, "utf8")).toBe("secret\n");
    expect(existsSync(`/tmp/${name}`)).toBe(false);
    expect(existsSync(`${(b.config["root"] as { path: string }).path}/tmp/${name}`)).toBe(false);
    expect(oci(b, ["delete", "--force", "c1"]).code).toBe(0);
  });

  test("the old root is gone: no host mount is visible and / holds only the rootfs", () => {
    const b = use(bundle({ userns: true, args: ["/bin/sh", "-c", "cat /proc/mounts; echo ---; ls /"] }));
    const r = oci(b, ["run", "c1"]);
    const [mounts, ls] = r.stdout.split("---\n");
    const points = (mounts ?? "")
      .trim()
      .split("\n")
      .map((l) => l.split(" ")[1]);
    expect(points).toContain("/");
    expect(points).toContain("/proc");
    expect(points).toContain("/tmp");
    for (const p of points)
      expect(p).not.toMatch(/^\/(work|run\/leopard|\.old_root|old_root|home\/|usr\/lib)/);
    expect(points).not.toContain(b.dir);
    expect((ls ?? "").trim().split("\n").sort()).toEqual(
      ["bin", "dev", "etc", "home", "mnt", "proc", "root", "run", "sbin", "sys", "tmp", "usr", "var"].sort(),
    );
  });

  test("no host file descriptor reaches the container", () => {
    const b = use(bundle({ userns: true, args: ["/bin/ls", "/proc/self/fd"] }));
    const r = oci(b, ["run", "c1"]);
    // 0-2, and 3 is ls's own directory handle.
    expect(r.stdout.trim().split("\n").sort()).toEqual(["0", "1", "2", "3"]);
  });
});
