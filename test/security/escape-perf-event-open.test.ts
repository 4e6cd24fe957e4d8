// Attack: perf_event_open to observe the host's CPUs and kernel. Defence: the seccomp profile allows it only with CAP_PERFMON or CAP_SYS_ADMIN (EPERM).
import { describe, expect, test } from "bun:test";
import { hostSnapshot, probe, trackBundles } from "./harness.ts";

const use = trackBundles();

describe("escape-perf-event-open", () => {
  test("perf_event_open is refused", () => {
    const before = hostSnapshot();
    const { result, raw } = probe(use, ["perf"]);
    expect(raw).toMatchObject({ code: 0, stderr: "" });
    expect(result).toEqual({ perf_event_open: "EPERM" });
    expect(hostSnapshot()).toEqual(before);
  });
});
