// A mount namespace joined by path (linux.namespaces: {"type": "mount", "path": ...}), as the
// runtime-spec validation programs make it: a process holds a copy of the host's mount table
// (`unshare -m`), the container joins it and is set up inside it as runc does; the host's own
// mount table is untouched. A config without any mount entry stays refused.
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { type Bundle, bundle, oci, trackBundles } from "./harness.ts";

const use = trackBundles();
const runc = Bun.which("runc");
type Json = Record<string, unknown>;

const holders: Bun.Subprocess[] = [];
afterEach(() => {
  for (const h of holders.splice(0)) h.kill("SIGKILL");
});

/** A process in a new mount namespace (a private copy of the host's), and that namespace's path. */
async function holder(): Promise<{ path: string; inode: string }> {
  const h = Bun.spawn(["unshare", "--mount", "--propagation", "private", "sleep", "120"], {
    stdout: "ignore",
  });
  holders.push(h);
  const self = readlinkSync("/proc/self/ns/mnt");
  const path = `/proc/${h.pid}/ns/mnt`;
  // unshare(1) execs sleep once the namespace exists.
  for (let i = 0; i < 200 && readlinkSync(path) === self; i++) await Bun.sleep(10);
  return { path, inode: readlinkSync(path) };
}

function joining(path: string): Bundle {
  return bundle({
    args: ["/bin/sh", "-c", "hostname; readlink /proc/self/ns/mnt; ls /proc/1/cmdline"],
    edit: (c) => {
      for (const ns of (c["linux"] as Json)["namespaces"] as Json[])
        if (ns["type"] === "mount") ns["path"] = path;
    },
  });
}

const hostMountsOf = (dir: string): string[] =>
  readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => l.includes(dir));

describe("joining a mount namespace by path", () => {
  test("the container is set up inside the joined namespace, and the host's mount table is untouched", async () => {
    const ns = await holder();
    const b = use(joining(ns.path));
    const before = hostMountsOf(b.dir);
    const r = oci(b, ["run", "c1"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toBe(`leopard\n${ns.inode}\n/proc/1/cmdline\n`);
    expect(hostMountsOf(b.dir)).toEqual(before);
    expect(hostMountsOf(b.root)).toEqual([]);
  });

  test.skipIf(runc === null)("runc runs the same bundle to the same result", async () => {
    const ns = await holder();
    const b = use(joining(ns.path));
    const r = Bun.spawnSync(
      [runc ?? "runc", "--root", join(b.dir, "runc-state"), "run", "-b", b.dir, `mj-${process.pid}`],
      {
        env: process.env,
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    expect(r.exitCode).toBe(0);
    expect(r.stdout.toString()).toBe(`leopard\n${ns.inode}\n/proc/1/cmdline\n`);
  });

  test("a config with no mount entry is refused in one line, and nothing is made", () => {
    const b = use(
      bundle({
        edit: (c) => {
          const linux = c["linux"] as Json;
          linux["namespaces"] = (linux["namespaces"] as Json[]).filter((n) => n["type"] !== "mount");
        },
      }),
    );
    const r = oci(b, ["run", "c1"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('linux.namespaces must have a "mount" entry');
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(oci(b, ["list", "-q"]).stdout).toBe("");
  });
});
