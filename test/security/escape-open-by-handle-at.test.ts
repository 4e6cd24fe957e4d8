// Attack: "shocker" — open_by_handle_at with a guessed handle (inode 2, the file system's root) to open host files outside the container's root. Defence: the seccomp profile denies it without CAP_DAC_READ_SEARCH, which is not held (EPERM).
import { describe, expect, test } from "bun:test";
import { hostSnapshot, probe, trackBundles } from "./harness.ts";

const use = trackBundles();

describe("escape-open-by-handle-at", () => {
  test("open_by_handle_at on the root inode is refused", () => {
    const before = hostSnapshot();
    const { result, raw } = probe(use, ["shocker"]);
    expect(raw).toMatchObject({ code: 0, stderr: "" });
    expect(result).toEqual({ open_by_handle_at: "EPERM" });
    expect(hostSnapshot()).toEqual(before);
  });
});
