// Attack: reach the kernel keyring (add_key, keyctl), which is not namespaced. Defence: the seccomp profile denies the keyring syscalls (EPERM).
import { describe, expect, test } from "bun:test";
import { hostSnapshot, probe, trackBundles } from "./harness.ts";

const use = trackBundles();

describe("escape-keyctl", () => {
  test("add_key and keyctl are refused", () => {
    const before = hostSnapshot();
    const { result, raw } = probe(use, ["keyctl"]);
    expect(raw).toMatchObject({ code: 0, stderr: "" });
    expect(result).toEqual({ add_key: "EPERM", keyctl: "EPERM" });
    expect(hostSnapshot()).toEqual(before);
  });
});
