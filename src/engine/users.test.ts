import { expect, test } from "bun:test";
import { resolveUser } from "./users.ts";

const PASSWD =
  "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nalice:x:1000:1000::/home/alice:/bin/sh\n";
const GROUP = "root:x:0:\nwheel:x:10:alice\naudio:x:29:alice,bob\nalice:x:1000:\nstaff:x:50:\n";

test.each([
  ["", { uid: 0, gid: 0, additionalGids: [0], home: "/root" }],
  ["root", { uid: 0, gid: 0, additionalGids: [0], home: "/root" }],
  ["alice", { uid: 1000, gid: 1000, additionalGids: [1000, 10, 29], home: "/home/alice" }],
  ["1000", { uid: 1000, gid: 1000, additionalGids: [1000, 10, 29], home: "/home/alice" }],
  ["alice:staff", { uid: 1000, gid: 50, additionalGids: [50], home: "/home/alice" }],
  ["1234", { uid: 1234, gid: 0, additionalGids: [0], home: "/" }],
  ["1234:4321", { uid: 1234, gid: 4321, additionalGids: [4321], home: "/" }],
  ["nobody", { uid: 65534, gid: 65534, additionalGids: [65534], home: "/nonexistent" }],
])("user %p: the primary group is a supplementary one too, as docker sets it", (u, want) =>
  expect(resolveUser(u, PASSWD, GROUP)).toEqual(want));

test("unknown names are errors naming them", () => {
  expect(() => resolveUser("bob", PASSWD, GROUP)).toThrow("unable to find user bob");
  expect(() => resolveUser("alice:nogroup", PASSWD, GROUP)).toThrow("unable to find group nogroup");
  expect(() => resolveUser("carol", "", "")).toThrow("unable to find user carol");
});
