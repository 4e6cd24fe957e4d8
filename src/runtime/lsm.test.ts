import { describe, expect, test } from "bun:test";
import { LeopardError } from "../util/errors.ts";
import { planLsm } from "./lsm.ts";

const none = { apparmor: false, selinux: false };
const both = { apparmor: true, selinux: true };

describe("LSM fields", () => {
  test("nothing asked, nothing planned, on any host", () => {
    expect(planLsm({}, none)).toEqual({ lsmExec: [], warnings: [] });
    expect(planLsm({ apparmorProfile: "", selinuxLabel: "" }, none)).toEqual({ lsmExec: [], warnings: [] });
  });

  test("an AppArmor profile or SELinux label on a host without them is refused with the field named", () => {
    expect(() => planLsm({ apparmorProfile: "docker-default" }, none)).toThrow(
      'process.apparmorProfile "docker-default" is set but AppArmor is not enabled on this host',
    );
    expect(() => planLsm({ selinuxLabel: "system_u:system_r:container_t:s0" }, none)).toThrow(LeopardError);
  });

  test("on a host that has them, the labels are written for the next execve", () => {
    expect(planLsm({ apparmorProfile: "p", selinuxLabel: "l" }, both).lsmExec).toEqual([
      { path: "thread-self/attr/apparmor/exec", data: "exec p" },
      { path: "thread-self/attr/exec", data: "l" },
    ]);
  });

  test("a mount label without SELinux is skipped with a warning", () => {
    expect(planLsm({ mountLabel: "m" }, none)).toEqual({
      lsmExec: [],
      warnings: ['linux.mountLabel "m" is ignored: SELinux is not enabled on this host'],
    });
    expect(planLsm({ mountLabel: "m" }, both).warnings).toEqual([]);
  });

  test("with SELinux the mount label is handed to the planner", () => {
    expect(planLsm({ mountLabel: "system_u:object_r:container_file_t:s0" }, both).mountLabel).toBe(
      "system_u:object_r:container_file_t:s0",
    );
    expect(planLsm({ mountLabel: "m" }, none).mountLabel).toBeUndefined();
  });
});
