import { expect, test } from "bun:test";
import { containerOwner } from "./commit.ts";

test("a rootless upper directory's owners map back through the container's id maps", () => {
  const owner = containerOwner({
    uidMappings: [
      { containerID: 0, hostID: 1001, size: 1 },
      { containerID: 1, hostID: 100000, size: 65536 },
    ],
    gidMappings: [
      { containerID: 0, hostID: 1002, size: 1 },
      { containerID: 1, hostID: 200000, size: 65536 },
    ],
  });
  expect(owner(1001, 1002)).toEqual({ uid: 0, gid: 0 });
  expect(owner(100004, 200005)).toEqual({ uid: 5, gid: 6 });
  expect(owner(0, 5)).toEqual({ uid: 65534, gid: 65534 });
});
