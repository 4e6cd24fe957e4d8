import { expect, test } from "bun:test";
import { openSync, readFileSync } from "node:fs";
import { CLONE } from "../plan/types.ts";
import { SyncTag } from "../protocol/ops.ts";
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

const notRoot = process.getuid?.() !== 0;

test.skipIf(notRoot)(
  "untilEnd (the id-map probe): a plan that neither forks nor execs ends; idMapped sees the maps written",
  async () => {
    using session = new HelperSession({
      preserveFds: 0,
      stdio: ["ignore", "ignore", "inherit"],
      what: "the probe",
    });
    session.start([
      { op: { op: "UNSHARE", flags: CLONE.user }, explain: "unshare --user" },
      { op: { op: "SYNC", tag: SyncTag.ID_MAPS }, explain: "# maps" },
    ]);
    let seen = "";
    await session.untilEnd({
      idMaps: { uid: "0 100000 1\n", gid: "0 100000 1\n" },
      idMapped: (pid) => {
        seen = readFileSync(`/proc/${pid}/uid_map`, "utf8");
      },
    });
    expect(seen.trim().split(/\s+/)).toEqual(["0", "100000", "1"]);
  },
);

test.skipIf(notRoot)("untilEnd: a failing op is the session's error, naming the op", async () => {
  using session = new HelperSession({
    preserveFds: 0,
    stdio: ["ignore", "ignore", "inherit"],
    what: "the probe",
  });
  session.start([{ op: { op: "SETNS", path: "/nonexistent/ns", nstype: 0 }, explain: "nsenter" }]);
  await expect(session.untilEnd({})).rejects.toThrow(/\/nonexistent\/ns/);
});
