// Attack: write /proc/sysrq-trigger to crash or reboot the host ("c", "b"). Defence: it is in
// readonlyPaths (EROFS); on a kernel without magic SysRq the file does not exist at all.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { hostSnapshot, probe, trackBundles } from "./harness.ts";

const use = trackBundles();

describe("escape-sysrq-trigger", () => {
  test("writing /proc/sysrq-trigger fails", () => {
    const before = hostSnapshot();
    // "h" only prints help to the kernel log, should every defence fail.
    const { result, raw } = probe(use, ["write", "/proc/sysrq-trigger", "h"]);
    expect(raw).toMatchObject({ code: 0, stderr: "" });
    expect(result).toEqual({ open: existsSync("/proc/sysrq-trigger") ? "EROFS" : "ENOENT" });
    expect(hostSnapshot()).toEqual(before);
  });
});
