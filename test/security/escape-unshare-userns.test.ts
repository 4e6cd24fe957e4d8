// Attack: unshare a new user namespace to regain every capability inside it (the first step of many kernel exploits). Defence: the seccomp profile denies unshare and namespace flags to clone (EPERM).
import { describe, expect, test } from "bun:test";
import { hostSnapshot, probe, trackBundles } from "./harness.ts";

const use = trackBundles();

describe("escape-unshare-userns", () => {
  test("unshare(CLONE_NEWUSER) is refused", () => {
    const before = hostSnapshot();
    const { result, raw } = probe(use, ["unshare-user"]);
    expect(raw).toMatchObject({ code: 0, stderr: "" });
    expect(result).toEqual({ unshare: "EPERM" });
    expect(hostSnapshot()).toEqual(before);
  });
});
