// The escape tests that apply without root, run by an ordinary user with `spec --rootless
// --hardened` bundles: a sysctl key that climbs out of /proc/sys/net (sysctl-path-traversal), a
// mount that puts something else at or inside /proc (CVE-2019-16884), and what a hardened rootless
// container tries from inside (writing /proc/sys, mknod, mount, another user namespace's
// privileges over the host). Each refusal is one line, leaves nothing in the state directory, and
// the host's values are unchanged.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hostSnapshot } from "../security/harness.ts";
import { cannotRun, makeRootlessUser, OCI, oneLine, type Result, type RootlessUser } from "./harness.ts";

const why = cannotRun();
let user: RootlessUser;
let bundle: string;
type Json = Record<string, unknown>;
const SWAPPINESS = "/proc/sys/vm/swappiness";

beforeAll(() => {
  if (why) return;
  user = makeRootlessUser();
  bundle = join(user.work, "bundle");
  user.run(["mkdir", bundle]);
  user.rootfs("bundle/rootfs");
  const spec = user.run([OCI, "spec", "--rootless", "--hardened"], { cwd: bundle });
  if (spec.code !== 0) throw new Error(`spec --rootless --hardened failed: ${spec.stderr}`);
});

afterAll(() => {
  if (why) return;
  const left = user.cleanup();
  expect(left).toEqual([]);
});

function run(id: string, edit: (c: Json) => void): Result {
  const c = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8")) as Json;
  (c["process"] as Json)["terminal"] = false;
  edit(c);
  writeFileSync(join(bundle, `${id}.json`), JSON.stringify(c));
  const dir = join(user.work, `b-${id}`);
  user.run(["mkdir", "-p", dir]);
  user.run(["cp", join(bundle, `${id}.json`), join(dir, "config.json")]);
  user.run(["sed", "-i", `s|"path":"rootfs"|"path":"${join(bundle, "rootfs")}"|`, join(dir, "config.json")]);
  const r = user.run([OCI, "run", id], { cwd: dir });
  user.run([OCI, "delete", "--force", id], { cwd: dir });
  return r;
}

const hostState = () => ({ ...hostSnapshot(), swappiness: readFileSync(SWAPPINESS, "utf8") });
const stateDir = () => user.run(["ls", "-A", `${user.runtimeDir}/leopard`]).stdout;
const linux = (c: Json): Json => c["linux"] as Json;
const proc = (c: Json): Json => c["process"] as Json;

describe.skipIf(why !== undefined)("escape attempts, rootless", () => {
  test.each([
    ["net/../vm/swappiness", "7"],
    ["net/../kernel/hostname", "pwned"],
    ["net/ipv4/../../../sysrq-trigger", "h"],
    ["../sysrq-trigger", "h"],
    ["kernel/../vm/swappiness", "7"],
  ])("sysctl-path-traversal: the key %p is refused naming the key, the host unchanged", (key, value) => {
    const before = hostState();
    const r = run("sysctl", (c) => {
      linux(c)["sysctl"] = { [key]: value };
      proc(c)["args"] = ["/bin/true"];
    });
    expect(r.code).not.toBe(0);
    const { line, lines } = oneLine(r.stderr);
    expect(line).toContain(`linux.sysctl[${JSON.stringify(key)}]`);
    expect(lines).toBe(1);
    expect(stateDir()).toBe("");
    expect(hostState()).toEqual(before);
  });

  test("an IPC sysctl lands in the container's own namespace, not the host's", () => {
    const host = readFileSync("/proc/sys/kernel/shm_rmid_forced", "utf8").trim();
    const want = host === "1" ? "0" : "1";
    const r = run("ipc", (c) => {
      linux(c)["sysctl"] = { "kernel.shm_rmid_forced": want };
      proc(c)["args"] = ["cat", "/proc/sys/kernel/shm_rmid_forced"];
    });
    expect(r).toMatchObject({ code: 0, stdout: `${want}\n`, stderr: "" });
    expect(readFileSync("/proc/sys/kernel/shm_rmid_forced", "utf8").trim()).toBe(host);
  });

  test.each([
    ["a bind mount of a plain directory over /proc", "/proc"],
    ["a bind mount over /proc/sys", "/proc/sys"],
  ])("CVE-2019-16884: %s is refused in one line naming the mount", (_, destination) => {
    const r = run("proc", (c) => {
      (c["mounts"] as Json[]).push({ destination, type: "bind", source: user.work, options: ["rbind"] });
    });
    expect(r.code).not.toBe(0);
    const { line, lines } = oneLine(r.stderr);
    expect(line).toMatch(/mounts\[\d+\]\.destination/);
    expect(line).toContain("/proc");
    expect(lines).toBe(1);
    expect(stateDir()).toBe("");
  });

  test("inside: /proc/sys is read-only, mknod and mount are refused, the host is unchanged", () => {
    const before = hostState();
    const r = run("inside", (c) => {
      proc(c)["args"] = [
        "sh",
        "-c",
        [
          "echo 7 > /proc/sys/vm/swappiness && echo wrote-sysctl",
          "mknod /dev/shm/sda b 8 0 && echo made-node",
          "mount -t tmpfs t /mnt && echo mounted",
          "echo c > /proc/sysrq-trigger && echo sysrq",
          "cat /proc/kcore > /dev/null && echo kcore",
          "echo done",
        ].join("; "),
      ];
      (c["mounts"] as Json[]).push({
        destination: "/dev/shm",
        type: "tmpfs",
        source: "shm",
        options: ["nosuid"],
      });
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("done\n");
    expect(hostState()).toEqual(before);
  });
});
