import { expect, test } from "bun:test";
import { ownStartTime, processStartTime } from "./procstat.ts";

test("our own start time is the one /proc/<pid>/stat shows, and stays it", () => {
  const read = processStartTime(process.pid);
  expect(read).toMatch(/^\d+$/);
  expect(ownStartTime()).toBe(read!);
  expect(ownStartTime()).toBe(read!);
});
