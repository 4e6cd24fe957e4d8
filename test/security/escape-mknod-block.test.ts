// Attack: mknod a node for the host's disk and open it to read the raw file system. Defence:
// CAP_MKNOD lets the node be made (as docker allows), but the devices cgroup (linux.resources
// denies all but the default devices) refuses the open with EPERM; a nodev mount refuses it too.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { hostSnapshot, probe, trackBundles } from "./harness.ts";

const use = trackBundles();

/** major:minor of the block device holding the host's root file system. */
function hostRootDevice(): [number, number] {
  const line = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .find((l) => l.split(" ")[4] === "/");
  const [maj, min] = (line?.split(" ")[2] ?? "8:0").split(":").map(Number);
  return [maj ?? 8, min ?? 0];
}

describe("escape-mknod-block", () => {
  test("a block device node for the host's root disk cannot be opened", () => {
    const before = hostSnapshot();
    const [maj, min] = hostRootDevice();
    const { result, raw } = probe(use, ["mknod-blk", String(maj), String(min)]);
    expect(raw).toMatchObject({ code: 0, stderr: "" });
    // Either the node is refused outright or opening it is.
    if (result["mknod"] === "ok") expect(["EPERM", "EACCES"]).toContain(result["open"] ?? "missing");
    else expect(result["mknod"]).toBe("EPERM");
    expect(result["read"]).toBeUndefined();
    expect(hostSnapshot()).toEqual(before);
  });
});
