// exec and the container's cgroups: the process is born in them (JOIN_CGROUP and a clone3 into
// the cgroup2 directory where create joins that way too, else sync 2). Also run in the cgroup v2
// VM (Makefile V2_TESTS), where only the clone3 applies.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { type bundle, done, oci, runningC1, trackBundles } from "./harness.ts";

setDefaultTimeout(30_000);

const use = trackBundles();

const running = (opts: Parameters<typeof bundle>[0] = {}) => runningC1(use, opts);

describe("exec and cgroups", () => {
  test("the process joins the container's cgroups before it is born", () => {
    const { b, pid } = running();
    const r = oci(b, ["exec", "c1", "cat", "/proc/self/cgroup"]);
    expect(r.stderr).toBe("");
    // The container has no cgroup namespace here, so both read the host's view.
    expect(r.stdout).toBe(readFileSync(`/proc/${pid}/cgroup`, "utf8"));
    done(b);
  });

  test("with a cgroup namespace: the process is in init's cgroups and reads them as init does (the cgroup namespace joined after the clone3 into the cgroup)", () => {
    const { b, pid } = running({
      edit: (c) => (c["linux"] as { namespaces: { type: string }[] }).namespaces.push({ type: "cgroup" }),
    });
    const inside = oci(b, ["exec", "c1", "sh", "-c", "cat /proc/self/cgroup; echo --; cat /proc/1/cgroup"]);
    expect(inside.stderr).toBe("");
    const [self, init] = inside.stdout.split("--\n");
    expect(self).toBe(init!);
    // Rooted at the container's cgroup: every hierarchy reads "/".
    expect(
      self!
        .trim()
        .split("\n")
        .every((l) => l.endsWith(":/")),
    ).toBe(true);
    const pidFile = join(b.dir, "exec.pid");
    expect(oci(b, ["exec", "--detach", "--pid-file", pidFile, "c1", "sleep", "30"]).code).toBe(0);
    const execPid = Number(readFileSync(pidFile, "utf8"));
    expect(readFileSync(`/proc/${execPid}/cgroup`, "utf8")).toBe(readFileSync(`/proc/${pid}/cgroup`, "utf8"));
    // …and in the container's mount namespace, as with sync 2.
    expect(readlinkSync(`/proc/${execPid}/ns/mnt`)).toBe(readlinkSync(`/proc/${pid}/ns/mnt`));
    expect(readlinkSync(`/proc/${execPid}/ns/cgroup`)).toBe(readlinkSync(`/proc/${pid}/ns/cgroup`));
    done(b);
  });
});
