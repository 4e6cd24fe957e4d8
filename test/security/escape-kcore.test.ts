// Attack: read the host's physical memory through /proc/kcore (and kernel state through
// /proc/keys, /proc/timer_list). Defence: maskedPaths bind the verified /dev/null over each, so
// they read as empty; where the kernel has no /proc/kcore there is nothing to read.
import { describe, expect, test } from "bun:test";
import { hardenedBundle, oci, trackBundles } from "./harness.ts";

const use = trackBundles();

describe("escape-kcore", () => {
  test("/proc/kcore and the other masked files read as empty", () => {
    const b = use(
      hardenedBundle({
        args: [
          "/bin/sh",
          "-c",
          "for f in /proc/kcore /proc/keys /proc/timer_list; do if [ -e $f ]; then echo $f $(wc -c < $f); else echo $f absent; fi; done",
        ],
      }),
    );
    const r = oci(b, ["run", "c1"]);
    expect(r.stderr).toBe("");
    for (const line of r.stdout.trim().split("\n")) expect(line).toMatch(/^\/proc\/\w+ (0|absent)$/);
    expect(r.stdout).toContain("/proc/keys 0");
  });
});
