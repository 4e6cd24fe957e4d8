// Attack: mount a file system, or unmount the masks over /proc (masked files, masked directories, read-only /proc/sys) to reach what they hide. Defence: the seccomp profile denies mount and umount2 without CAP_SYS_ADMIN, which is not held (EPERM).
import { describe, expect, test } from "bun:test";
import { hostSnapshot, probe, trackBundles } from "./harness.ts";

const use = trackBundles();

describe("escape-mount", () => {
  test("mount is refused", () => {
    const before = hostSnapshot();
    const { result, raw } = probe(use, ["mount"]);
    expect(raw).toMatchObject({ code: 0, stderr: "" });
    expect(result).toEqual({ mount: "EPERM" });
    expect(hostSnapshot()).toEqual(before);
  });

  for (const path of ["/proc/keys", "/proc/acpi", "/proc/sys", "/proc/timer_list"]) {
    test(`umount of the mask on ${path} is refused`, () => {
      const { result, raw } = probe(use, ["umount", path]);
      expect(raw).toMatchObject({ code: 0, stderr: "" });
      expect(result).toEqual({ umount: "EPERM" });
    });
  }
});
