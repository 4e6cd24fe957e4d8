import { describe, expect, test } from "bun:test";
import { BUNDLE, config, type Row, rejection } from "./testing.ts";
import { validateSpec } from "./validate.ts";

// One row per mistake: [what is wrong, runc's default config.json changed to have it, the message].
const ROWS: Row[] = [
  [
    "seccomp has no default action",
    config({ "linux.seccomp": {} }),
    "config.json: linux.seccomp.defaultAction must be set",
  ],
  [
    "the seccomp default action is to notify",
    config({ "linux.seccomp": { defaultAction: "SCMP_ACT_NOTIFY", listenerPath: "/run/agent.sock" } }),
    'config.json: linux.seccomp.defaultAction cannot be "SCMP_ACT_NOTIFY"',
  ],
  [
    "a seccomp action is unknown",
    config({
      "linux.seccomp": { defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["read"], action: "ALLOW" }] },
    }),
    'config.json: linux.seccomp.syscalls[0].action "ALLOW" is not a seccomp action',
  ],
  [
    "a seccomp rule names no syscall",
    config({
      "linux.seccomp": {
        defaultAction: "SCMP_ACT_ERRNO",
        syscalls: [{ names: [], action: "SCMP_ACT_ALLOW" }],
      },
    }),
    "config.json: linux.seccomp.syscalls[0].names must name at least one syscall",
  ],
  [
    "a seccomp errno is set for an action without one",
    config({
      "linux.seccomp": {
        defaultAction: "SCMP_ACT_ERRNO",
        syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW", errnoRet: 1 }],
      },
    }),
    'config.json: linux.seccomp.syscalls[0].errnoRet is set but the action "SCMP_ACT_ALLOW" takes no errno',
  ],
  [
    "a seccomp default errno is set for a default without one",
    config({ "linux.seccomp": { defaultAction: "SCMP_ACT_KILL", defaultErrnoRet: 1 } }),
    'config.json: linux.seccomp.defaultErrnoRet is set but the default action "SCMP_ACT_KILL" takes no errno',
  ],
  [
    "a seccomp architecture is unknown",
    config({ "linux.seccomp": { defaultAction: "SCMP_ACT_ERRNO", architectures: ["SCMP_ARCH_Z80"] } }),
    'config.json: linux.seccomp.architectures[0] "SCMP_ARCH_Z80" is not a seccomp architecture',
  ],
  [
    "a seccomp flag is unknown",
    config({ "linux.seccomp": { defaultAction: "SCMP_ACT_ERRNO", flags: ["SECCOMP_FILTER_FLAG_FAST"] } }),
    'config.json: linux.seccomp.flags[0] "SECCOMP_FILTER_FLAG_FAST" is not a seccomp flag',
  ],
  [
    "a seccomp argument index is past the sixth",
    config({
      "linux.seccomp": {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [
          {
            names: ["personality"],
            action: "SCMP_ACT_ERRNO",
            args: [{ index: 6, value: 0, op: "SCMP_CMP_EQ" }],
          },
        ],
      },
    }),
    "config.json: linux.seccomp.syscalls[0].args[0].index 6 is out of range (0 to 5)",
  ],
  [
    "a seccomp operator is unknown",
    config({
      "linux.seccomp": {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [
          { names: ["personality"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 0, op: "==" }] },
        ],
      },
    }),
    'config.json: linux.seccomp.syscalls[0].args[0].op "==" is not a seccomp operator',
  ],
  [
    "a seccomp rule notifies without a listener",
    config({
      "linux.seccomp": {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["mount"], action: "SCMP_ACT_NOTIFY" }],
      },
    }),
    'config.json: linux.seccomp.syscalls[0].action "SCMP_ACT_NOTIFY" needs linux.seccomp.listenerPath',
  ],
  [
    "a seccomp rule notifies a syscall the runtime makes before the agent has the listener",
    config({
      "linux.seccomp": {
        defaultAction: "SCMP_ACT_ALLOW",
        listenerPath: "/run/agent.sock",
        syscalls: [
          { names: ["mkdir"], action: "SCMP_ACT_NOTIFY" },
          { names: ["read", "sendmsg"], action: "SCMP_ACT_NOTIFY" },
        ],
      },
    }),
    'config.json: linux.seccomp.syscalls[1].names[1] "sendmsg" cannot be notified (SCMP_ACT_NOTIFY): the runtime passes the listener to the agent with it',
  ],
  [
    "seccomp listener metadata without a listener",
    config({ "linux.seccomp": { defaultAction: "SCMP_ACT_ALLOW", listenerMetadata: "x" } }),
    "config.json: linux.seccomp.listenerMetadata is set but listenerPath is not",
  ],
];

describe("validateSpec refuses a seccomp profile", () => {
  test.each(ROWS)("%s", (_what, raw, message) => {
    expect(rejection(raw)).toBe(message);
  });
});

describe("validateSpec accepts", () => {
  test("SCMP_ACT_NOTIFY with a listenerPath and listenerMetadata", () => {
    const raw = config({
      "linux.seccomp": {
        defaultAction: "SCMP_ACT_ALLOW",
        listenerPath: "/run/agent.sock",
        listenerMetadata: "the agent's own words",
        syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY" }],
      },
    });
    expect(() => validateSpec(raw, { bundle: BUNDLE })).not.toThrow();
  });
});
