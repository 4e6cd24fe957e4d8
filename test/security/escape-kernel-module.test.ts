// Attack: load a kernel module (init_module, finit_module). Defence: the seccomp profile denies both (CAP_SYS_MODULE would be needed to allow them) and CAP_SYS_MODULE is not held.
import { describe, expect, test } from "bun:test";
import { hostSnapshot, probe, trackBundles } from "./harness.ts";

const use = trackBundles();

describe("escape-kernel-module", () => {
  test("init_module and finit_module are refused and /proc/modules is unchanged", () => {
    const before = hostSnapshot();
    const { result, raw } = probe(use, ["modules"]);
    expect(raw).toMatchObject({ code: 0, stderr: "" });
    expect(result).toEqual({ init_module: "EPERM", finit_module: "EPERM" });
    expect(hostSnapshot()).toEqual(before);
  });
});
