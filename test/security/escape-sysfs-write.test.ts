// Attack: write a host kernel setting through /sys (here KSM's run switch). Defence: sysfs is mounted read-only (EROFS); the hardened config grants no CAP_SYS_ADMIN to remount it.
import { describe, expect, test } from "bun:test";
import { hostSnapshot, probe, trackBundles } from "./harness.ts";

const use = trackBundles();

describe("escape-sysfs-write", () => {
  test("writing /sys/kernel/mm/ksm/run fails with EROFS", () => {
    const before = hostSnapshot();
    const { result, raw } = probe(use, ["write", "/sys/kernel/mm/ksm/run", "1"]);
    expect(raw).toMatchObject({ code: 0, stderr: "" });
    expect(result).toEqual({ open: "EROFS" });
    expect(hostSnapshot()).toEqual(before);
  });
});
