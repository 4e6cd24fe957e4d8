import { describe, expect, test } from "bun:test";
import { CAPABILITIES, capabilityNumber } from "./capabilities.ts";

describe("CAPABILITIES", () => {
  test("is indexed by capability number, CAP_CHOWN (0) to CAP_CHECKPOINT_RESTORE (40)", () => {
    expect(CAPABILITIES).toHaveLength(41);
    expect(CAPABILITIES[0]).toBe("CAP_CHOWN");
    expect(CAPABILITIES[21]).toBe("CAP_SYS_ADMIN");
    expect(CAPABILITIES[29]).toBe("CAP_AUDIT_WRITE");
    expect(CAPABILITIES[38]).toBe("CAP_PERFMON");
    expect(CAPABILITIES[40]).toBe("CAP_CHECKPOINT_RESTORE");
  });

  test("holds each name once, each in the form the runtime-spec allows", () => {
    expect(new Set(CAPABILITIES).size).toBe(CAPABILITIES.length);
    for (const name of CAPABILITIES) expect(name).toMatch(/^CAP_[A-Z_]+$/);
  });

  test("capabilityNumber is the index, undefined for an unknown name", () => {
    expect(capabilityNumber("CAP_KILL")).toBe(5);
    expect(capabilityNumber("CAP_NET_BIND_SERVICE")).toBe(10);
    expect(capabilityNumber("CAP_FOO")).toBeUndefined();
    expect(capabilityNumber("cap_kill")).toBeUndefined();
  });
});
