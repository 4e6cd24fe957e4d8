import { expect, test } from "bun:test";
import { openSync } from "node:fs";
import { HelperSession } from "./helper-session.ts";

test("fd numbers follow 0-2 and the preserved fds: the sync socket first, then in the order added", () => {
  using session = new HelperSession({ preserveFds: 2, what: "the container" });
  expect(session.syncFd).toBe(5);
  const fifo = session.reserve();
  expect(fifo.number).toBe(6);
  expect(session.add(openSync("/dev/null", "r"))).toBe(7);
  const later = session.reserve();
  expect(later.number).toBe(8);
  fifo.fill(openSync("/dev/null", "r"));
});

test("without preserved fds the sync socket is fd 3", () => {
  using session = new HelperSession({ preserveFds: 0, what: "the process" });
  expect(session.syncFd).toBe(3);
  expect(session.add(openSync("/dev/null", "r"))).toBe(4);
});

test("a slot never filled is refused before anything is spawned", () => {
  using session = new HelperSession({ preserveFds: 0, what: "the process" });
  session.reserve();
  expect(() => session.start([])).toThrow("fd 4 of the helper was never given");
});
