// Attack: a linux.sysctl key with "/" and ".." components ("net/../kernel/hostname") passes a
// namespaced-prefix check made on its first component and climbs out of /proc/sys/net: written
// as root, after pivot_root, it reaches any sysctl (kernel.core_pattern: host root on the next
// crash) or /proc itself ("../../sysrq-trigger"). Defence: a key is split into components, an
// empty, "." or ".." component is refused with the key named, the namespace rules run on those
// components, and the helper opens the file beneath the container's procfs-verified /proc with
// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV.
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { leftovers, leopard, removeAll } from "../engine/harness.ts";
import { hardenedBundle, hostSnapshot, oci, trackBundles } from "./harness.ts";

const use = trackBundles();

/** A global sysctl the attack could reach; its value is put back whatever happens. */
const SWAPPINESS = "/proc/sys/vm/swappiness";

function hostState(): Record<string, string> {
  return { ...hostSnapshot(), swappiness: readFileSync(SWAPPINESS, "utf8") };
}

function runWithSysctl(sysctl: Record<string, string>, args = ["/bin/true"]) {
  const b = use(
    hardenedBundle({
      args,
      edit: (c) => {
        (c["linux"] as Record<string, unknown>)["sysctl"] = sysctl;
      },
    }),
  );
  return oci(b, ["run", "c1"]);
}

afterAll(removeAll);

describe("sysctl-path-traversal", () => {
  const original = readFileSync(SWAPPINESS, "utf8").trim();
  const other = original === "7" ? "8" : "7";

  test.each([
    ["net/../vm/swappiness", other],
    ["net/../kernel/hostname", "pwned"],
    ["net.ipv4/../../vm/swappiness", other],
    ["net/ipv4/../../../sysrq-trigger", "h"],
    ["../sysrq-trigger", "h"],
    ["net/./ipv4/ip_forward", "1"],
    ["net//ipv4/ip_forward", "1"],
    ["net..ipv4.ip_forward", "1"],
    ["net.ipv4.ip_forward.", "1"],
  ])("the key %p is refused naming the key, and the host is unchanged", (key, value) => {
    const before = hostState();
    try {
      const r = runWithSysctl({ [key]: value });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`linux.sysctl[${JSON.stringify(key)}]`);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(hostState()).toEqual(before);
    } finally {
      writeFileSync(SWAPPINESS, original);
    }
  });

  test("a key that only looks like a namespaced one stays inside the container's net namespace", () => {
    // The slash form keeps dots literal: "conf/all" is a component pair, "lo" the device.
    const before = hostState();
    const hostForward = readFileSync("/proc/sys/net/ipv4/conf/lo/forwarding", "utf8");
    const r = runWithSysctl(
      { "net/ipv4/conf/lo/forwarding": hostForward.trim() === "1" ? "0" : "1", "net.ipv4.ip_forward": "1" },
      ["/bin/sh", "-c", "cat /proc/sys/net/ipv4/conf/lo/forwarding /proc/sys/net/ipv4/ip_forward"],
    );
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout.split("\n").slice(0, 2)).toEqual([hostForward.trim() === "1" ? "0" : "1", "1"]);
    expect(readFileSync("/proc/sys/net/ipv4/conf/lo/forwarding", "utf8")).toBe(hostForward);
    expect(hostState()).toEqual(before);
  });

  test("leopard run --sysctl refuses the same key in one line and leaves no container behind", async () => {
    const before = hostState();
    try {
      const r = await leopard([
        "run",
        "--rm",
        "--network",
        "none",
        "--sysctl",
        `net/../vm/swappiness=${other}`,
        "busybox",
        "true",
      ]);
      expect(r.code).toBe(125);
      expect(r.err).toContain('"net/../vm/swappiness"');
      expect(r.err.trim().split("\n")).toHaveLength(1);
      expect(leftovers()).toEqual([]);
      expect(hostState()).toEqual(before);
    } finally {
      writeFileSync(SWAPPINESS, original);
    }
  });
});
