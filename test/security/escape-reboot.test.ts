// Attack: reboot(2) from inside the container. Defence: the seccomp profile denies reboot (EPERM), CAP_SYS_BOOT is not held, and in a PID namespace reboot would only end the container.
import { describe, expect, test } from "bun:test";
import { hostSnapshot, probe, trackBundles } from "./harness.ts";

const use = trackBundles();

describe("escape-reboot", () => {
  test("reboot is refused and the host keeps its ctrl-alt-del setting", () => {
    const before = hostSnapshot();
    const { result, raw } = probe(use, ["reboot"]);
    expect(raw).toMatchObject({ code: 0, stderr: "" });
    expect(result).toEqual({ reboot: "EPERM" });
    expect(hostSnapshot()).toEqual(before);
  });
});
