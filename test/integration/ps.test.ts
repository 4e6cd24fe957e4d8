// ps and features through the CLI, as engines call them.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { bundle, OCI, oci, readState, trackBundles, until } from "./harness.ts";

// Real containers (and engines) on a busy machine: well past bun's default 5 s a test.
setDefaultTimeout(30_000);

const use = trackBundles();

describe("ps", () => {
  test("ps --format json lists every process of the container, init first; the table form filters ps -ef", async () => {
    const b = use(bundle({ args: ["/bin/sleep", "60"] }));
    expect(oci(b, ["run", "-d", "c1"]).code).toBe(0);
    const pid = readState(b, "c1")["pid"] as number;
    const pidFile = join(b.dir, "exec.pid");
    expect(oci(b, ["exec", "-d", "--pid-file", pidFile, "c1", "sleep", "61"]).code).toBe(0);
    const child = Number(await Bun.file(pidFile).text());
    const json = oci(b, ["ps", "--format", "json", "c1"]);
    expect(json.stderr).toBe("");
    expect(JSON.parse(json.stdout)).toEqual([pid, child]);
    const table = oci(b, ["ps", "c1"]);
    const lines = table.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^UID\s+PID\s+PPID/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[1])).toEqual([String(pid), String(child)]);
    const custom = oci(b, ["ps", "c1", "-o", "pid,args"]);
    expect(
      custom.stdout
        .trim()
        .split("\n")
        .slice(1)
        .map((l) => l.trim()),
    ).toEqual([`${pid} /bin/sleep 60`, `${child} sleep 61`]);
    expect(oci(b, ["kill", "c1", "KILL"]).code).toBe(0);
    await until(() => readState(b, "c1")["status"] === "stopped");
    expect(oci(b, ["ps", "--format", "json", "c1"]).stdout).toBe("[]\n");
    expect(oci(b, ["delete", "c1"]).code).toBe(0);
  });
});

describe("features", () => {
  test("prints runc's features JSON", () => {
    const r = Bun.spawnSync([OCI, "features"], { stdout: "pipe", stderr: "pipe" });
    expect(r.exitCode).toBe(0);
    const f = JSON.parse(r.stdout.toString());
    expect(f.ociVersionMin).toBe("1.0.0");
    expect(f.linux.seccomp.enabled).toBe(true);
    expect(f.mountOptions).toContain("rbind");
  });
});
