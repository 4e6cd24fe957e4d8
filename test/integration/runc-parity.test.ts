// What runc does for a process that engines (Docker, containerd) rely on, through leopard-oci:
// HOME from the container's /etc/passwd, the container's oom_score_adj for exec, a terminal
// bound on /dev/console, readonly paths keeping their mount's nosuid,nodev,noexec.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { bundle, OCI, oci, trackBundles } from "./harness.ts";

const use = trackBundles();
type Json = Record<string, unknown>;
const proc = (c: Json) => c["process"] as Json;

describe("runc's process setup that engines rely on", () => {
  test("HOME comes from the container's /etc/passwd when the process has none: /root, the user's home, / for an unknown uid", () => {
    const home = (uid: number, env: string[] = ["PATH=/bin"]) => {
      const b = use(
        bundle({
          args: ["/bin/sh", "-c", "echo $HOME"],
          edit: (c) => {
            proc(c)["user"] = { uid, gid: uid };
            proc(c)["env"] = env;
          },
        }),
      );
      return oci(b, ["run", "c1"]).stdout;
    };
    expect(home(0)).toBe("/root\n");
    expect(home(1000)).toBe("/home\n");
    expect(home(4242)).toBe("/\n");
    expect(home(0, ["PATH=/bin", "HOME=/data"])).toBe("/data\n");
  });

  test("exec gets the container's oom_score_adj and its user's HOME", () => {
    const b = use(
      bundle({
        args: ["/bin/sleep", "30"],
        edit: (c) => {
          proc(c)["oomScoreAdj"] = 500;
          proc(c)["env"] = ["PATH=/bin"];
        },
      }),
    );
    expect(oci(b, ["run", "-d", "c1"]).code).toBe(0);
    const r = oci(b, [
      "exec",
      "--user",
      "1000:1000",
      "c1",
      "sh",
      "-c",
      "cat /proc/self/oom_score_adj; echo $HOME",
    ]);
    expect(r).toMatchObject({ code: 0, stdout: "500\n/home\n", stderr: "" });
    const file = join(b.dir, "process.json");
    writeFileSync(
      file,
      JSON.stringify({
        args: ["cat", "/proc/self/oom_score_adj"],
        cwd: "/",
        user: { uid: 0, gid: 0 },
        env: ["PATH=/bin"],
      }),
    );
    expect(oci(b, ["exec", "--process", file, "c1"]).stdout).toBe("500\n");
    expect(oci(b, ["delete", "-f", "c1"]).code).toBe(0);
  });

  test("a terminal is bound on /dev/console (a pty slave, major 136)", () => {
    const b = use(
      bundle({
        args: ["/bin/sh", "-c", "stat -c '%t %F' /dev/console; tty"],
        edit: (c) => {
          proc(c)["terminal"] = true;
        },
      }),
    );
    const cmd = `${OCI} --root ${b.root} run -b ${b.dir} c1`;
    const r = Bun.spawnSync(["script", "-qec", cmd, "/dev/null"], {
      env: process.env,
      stdin: "ignore",
      stdout: "pipe",
    });
    const out = r.stdout.toString().replaceAll("\r", "").replaceAll("^@", "");
    expect(out).toMatch(/^88 character special file\n\/dev\/pts\/\d+\n$/);
  });

  test("readonly paths under /proc keep procfs's nosuid, nodev and noexec", () => {
    const b = use(
      bundle({
        args: ["/bin/sh", "-c", "grep ' /proc/sys ' /proc/self/mountinfo | cut -d' ' -f6"],
        edit: (c) => {
          (c["linux"] as Json)["readonlyPaths"] = ["/proc/sys"];
          // procfs mounted as Docker mounts it
          for (const m of c["mounts"] as Json[])
            if (m["destination"] === "/proc") m["options"] = ["nosuid", "noexec", "nodev"];
        },
      }),
    );
    expect(oci(b, ["run", "c1"]).stdout).toBe("ro,nosuid,nodev,noexec,relatime\n");
  });
});
