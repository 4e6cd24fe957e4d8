import { expect, test } from "bun:test";
import { systemVolume } from "./volumes.ts";

test("an image volume at or beneath /proc, /sys or /dev is a system one, however it is written", () => {
  expect(["/proc", "/proc/", "//sys/./fs", "/dev/shm", "/a/../dev", "proc"].map(systemVolume)).toEqual([
    "/proc",
    "/proc",
    "/sys",
    "/dev",
    "/dev",
    "/proc",
  ]);
  expect(["/data", "/procfs", "/devices", "/var/proc"].map(systemVolume)).toEqual([
    undefined,
    undefined,
    undefined,
    undefined,
  ]);
});
