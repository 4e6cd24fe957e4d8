// Attack: the classic chroot escape — chroot into a subdirectory while holding a directory fd
// on the old root, fchdir back to it, climb with "..", chroot(".") — looking for the host's
// files. Defence: pivot_root moved the root and detached the host's; ".." at the container's
// root is the root itself, so the climb never leaves it (CAP_SYS_CHROOT is held, as in docker).
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { hostSnapshot, probe, TOP, trackBundles } from "./harness.ts";

const use = trackBundles();

describe("escape-chroot", () => {
  test("chroot with a held directory fd never reaches the host's root", () => {
    const before = hostSnapshot();
    // A path that exists on the host and not in the container's root.
    const marker = `${TOP}/package.json`;
    expect(existsSync(marker)).toBe(true);
    const { result, raw } = probe(use, ["chroot", marker]);
    expect(raw).toMatchObject({ code: 0, stderr: "" });
    expect(result).toEqual({ chroot: "ok", fchdir: "ok", "chroot-dot": "ok", marker: "absent" });
    expect(hostSnapshot()).toEqual(before);
  });
});
