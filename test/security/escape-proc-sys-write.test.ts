// Attack: write /proc/sys/kernel/core_pattern (a pipe there runs a host program as root on any crash). Defence: /proc/sys is in readonlyPaths, a read-only bind mount (EROFS), and the sysctl is not namespaced.
import { describe, expect, test } from "bun:test";
import { hostSnapshot, probe, trackBundles } from "./harness.ts";

const use = trackBundles();

describe("escape-proc-sys-write", () => {
  test("writing /proc/sys/kernel/core_pattern fails with EROFS and the host's value is unchanged", () => {
    const before = hostSnapshot();
    const { result, raw } = probe(use, ["write", "/proc/sys/kernel/core_pattern", "|/bin/sh -c evil"]);
    expect(raw).toMatchObject({ code: 0, stderr: "" });
    expect(result).toEqual({ open: "EROFS" });
    expect(hostSnapshot()).toEqual(before);
  });
});
