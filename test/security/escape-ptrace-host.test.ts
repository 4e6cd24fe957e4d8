// Attack: ptrace a host process (this test runner) to run code outside the container. Defence:
// the PID namespace: no host process is visible, so every host pid is ESRCH; the container's
// /proc lists only its own processes.
import { describe, expect, test } from "bun:test";
import { hardenedBundle, hostSnapshot, oci, trackBundles } from "./harness.ts";

const use = trackBundles();

describe("escape-ptrace-host", () => {
  test("ptrace of the host's pids finds nothing, and /proc shows only the container", () => {
    const before = hostSnapshot();
    const hostPids = [process.pid, process.ppid];
    const b = use(
      hardenedBundle({
        args: [
          "/bin/sh",
          "-c",
          `for p in ${hostPids.join(" ")}; do /mnt/probe ptrace $p; done; ls -d /proc/[0-9]* | wc -l`,
        ],
      }),
    );
    const r = oci(b, ["run", "c1"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines.slice(0, hostPids.length)).toEqual(hostPids.map(() => "ptrace: ESRCH"));
    // sh, ls and wc: the container's own processes and nothing else.
    expect(Number(lines.at(-1))).toBeLessThanOrEqual(3);
    expect(hostSnapshot()).toEqual(before);
  });
});
