// Attack: bpf(2) to load programs or read kernel memory through maps. Defence: the seccomp profile allows bpf only with CAP_SYS_ADMIN or CAP_BPF, which the hardened config does not grant (EPERM).
import { describe, expect, test } from "bun:test";
import { hostSnapshot, probe, trackBundles } from "./harness.ts";

const use = trackBundles();

describe("escape-bpf", () => {
  test("bpf(BPF_MAP_CREATE) is refused", () => {
    const before = hostSnapshot();
    const { result, raw } = probe(use, ["bpf"]);
    expect(raw).toMatchObject({ code: 0, stderr: "" });
    expect(result).toEqual({ bpf: "EPERM" });
    expect(hostSnapshot()).toEqual(before);
  });
});
