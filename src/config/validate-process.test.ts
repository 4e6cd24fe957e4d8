import { describe, expect, test } from "bun:test";
import { config, type Row, rejection } from "./testing.ts";

// One row per mistake: [what is wrong, runc's default config.json changed to have it, the message].
const ROWS: Row[] = [
  [
    "args is missing",
    config({ "process.args": undefined }),
    "config.json: process.args must be a non-empty array of strings",
  ],
  [
    "args is empty",
    config({ "process.args": [] }),
    "config.json: process.args must be a non-empty array of strings",
  ],
  [
    "args holds a number",
    config({ "process.args": ["sh", 1] }),
    "config.json: process.args must be a non-empty array of strings",
  ],
  [
    "an arg has a NUL byte",
    config({ "process.args": ["a\0b"] }),
    'config.json: process.args[0] "a\\u0000b" contains a NUL byte',
  ],
  [
    "cwd is relative",
    config({ "process.cwd": "tmp" }),
    'config.json: process.cwd "tmp" must be an absolute path',
  ],
  ["cwd is missing", config({ "process.cwd": undefined }), "config.json: process.cwd must be set"],
  ["env is a string", config({ "process.env": "PATH=/bin" }), "config.json: process.env must be an array"],
  [
    "an env entry has no =",
    config({ "process.env[1]": "TERM" }),
    'config.json: process.env[1] "TERM" must look like KEY=value',
  ],
  [
    "an env entry has no name",
    config({ "process.env[0]": "=x" }),
    'config.json: process.env[0] "=x" must look like KEY=value',
  ],
  [
    "terminal is a string",
    config({ "process.terminal": "true" }),
    "config.json: process.terminal must be true or false",
  ],
  [
    "consoleSize lacks a width",
    config({ "process.consoleSize": { height: 24 } }),
    "config.json: process.consoleSize.width must be set",
  ],
  ["user is missing", config({ "process.user": undefined }), "config.json: process.user must be set"],
  ["uid is -1", config({ "process.user.uid": -1 }), "config.json: process.user.uid -1 is not a valid id"],
  [
    "uid is (uid_t)-1",
    config({ "process.user.uid": 4294967295 }),
    "config.json: process.user.uid 4294967295 is not a valid id",
  ],
  [
    "gid is a string",
    config({ "process.user.gid": "0" }),
    'config.json: process.user.gid "0" is not a valid id',
  ],
  ["uid is missing", config({ "process.user.uid": undefined }), "config.json: process.user.uid must be set"],
  [
    "an additional gid is negative",
    config({ "process.user.additionalGids": [1, -2] }),
    "config.json: process.user.additionalGids[1] -2 is not a valid id",
  ],
  [
    "umask is too big",
    config({ "process.user.umask": 0o1000 }),
    "config.json: process.user.umask 512 is out of range (0 to 511)",
  ],
  [
    "a capability is unknown",
    config({ "process.capabilities.bounding[1]": "CAP_FOO" }),
    'config.json: process.capabilities.bounding[1] "CAP_FOO" is not a known capability (CAP_CHOWN to CAP_CHECKPOINT_RESTORE)',
  ],
  [
    "a capability is not a capability name",
    config({ "process.capabilities.ambient[0]": "chown" }),
    'config.json: process.capabilities.ambient[0] "chown" is not a capability name (like "CAP_CHOWN")',
  ],
  [
    "a capability set is a string",
    config({ "process.capabilities.effective": "CAP_KILL" }),
    "config.json: process.capabilities.effective must be an array",
  ],
  [
    "an rlimit type is unknown",
    config({ "process.rlimits[0].type": "RLIMIT_FOO" }),
    'config.json: process.rlimits[0].type "RLIMIT_FOO" is not a resource limit (like "RLIMIT_NOFILE")',
  ],
  [
    "an rlimit is given twice",
    config({ "process.rlimits[1]": { type: "RLIMIT_NOFILE", hard: 10, soft: 10 } }),
    'config.json: process.rlimits has "RLIMIT_NOFILE" twice',
  ],
  [
    "a soft limit is above the hard limit",
    config({ "process.rlimits[0].soft": 2048 }),
    "config.json: process.rlimits[0] soft limit 2048 is above the hard limit 1024",
  ],
  [
    "a hard limit is negative",
    config({ "process.rlimits[0].hard": -1 }),
    "config.json: process.rlimits[0].hard -1 is out of range (0 to 18446744073709551615)",
  ],
  [
    "a soft limit is missing",
    config({ "process.rlimits[0].soft": undefined }),
    "config.json: process.rlimits[0].soft must be set",
  ],
  [
    "noNewPrivileges is a number",
    config({ "process.noNewPrivileges": 1 }),
    "config.json: process.noNewPrivileges must be true or false",
  ],
  [
    "oomScoreAdj is out of range",
    config({ "process.oomScoreAdj": 1001 }),
    "config.json: process.oomScoreAdj 1001 is out of range (-1000 to 1000)",
  ],
  [
    "apparmorProfile is a number",
    config({ "process.apparmorProfile": 3 }),
    "config.json: process.apparmorProfile must be a string",
  ],
  [
    "selinuxLabel is a number",
    config({ "process.selinuxLabel": 3 }),
    "config.json: process.selinuxLabel must be a string",
  ],
  [
    "the I/O priority class is unknown",
    config({ "process.ioPriority": { class: "RT", priority: 1 } }),
    'config.json: process.ioPriority.class "RT" is not an I/O priority class ("IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE" or "IOPRIO_CLASS_IDLE")',
  ],
  [
    "the I/O priority is above 7",
    config({ "process.ioPriority": { class: "IOPRIO_CLASS_BE", priority: 8 } }),
    "config.json: process.ioPriority.priority 8 is out of range (0 to 7)",
  ],
  [
    "the scheduler policy is unknown",
    config({ "process.scheduler": { policy: "SCHED_FAST" } }),
    'config.json: process.scheduler.policy "SCHED_FAST" is not a scheduler policy',
  ],
  [
    "the scheduler policy is missing",
    config({ "process.scheduler": { nice: 1 } }),
    "config.json: process.scheduler.policy must be set",
  ],
  [
    "nice is out of range",
    config({ "process.scheduler": { policy: "SCHED_OTHER", nice: 20 } }),
    "config.json: process.scheduler.nice 20 is out of range (-20 to 19)",
  ],
  [
    "a priority is given for a policy without one",
    config({ "process.scheduler": { policy: "SCHED_OTHER", priority: 5 } }),
    'config.json: process.scheduler.priority is only for "SCHED_FIFO" and "SCHED_RR", not "SCHED_OTHER"',
  ],
  [
    "a deadline runtime is given for another policy",
    config({ "process.scheduler": { policy: "SCHED_FIFO", runtime: 5 } }),
    'config.json: process.scheduler.runtime is only for "SCHED_DEADLINE", not "SCHED_FIFO"',
  ],
  [
    "a scheduler flag is unknown",
    config({ "process.scheduler": { policy: "SCHED_OTHER", flags: ["SCHED_FLAG_FAST"] } }),
    'config.json: process.scheduler.flags[0] "SCHED_FLAG_FAST" is not a scheduler flag',
  ],
  [
    "a CPU affinity is not a CPU list",
    config({ "process.execCPUAffinity": { initial: "a-b" } }),
    'config.json: process.execCPUAffinity.initial "a-b" is not a CPU list (like "0-3,7")',
  ],
];

describe("validateSpec refuses a process", () => {
  test.each(ROWS)("%s", (_what, raw, message) => {
    expect(rejection(raw)).toBe(message);
  });
});
