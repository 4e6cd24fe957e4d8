import { describe, expect, test } from "bun:test";
import { BUNDLE, config, type Row, rejection } from "./testing.ts";
import { validateSpec } from "./validate.ts";

// One row per mistake: [what is wrong, runc's default config.json changed to have it, the message].
const ROWS: Row[] = [
  ["linux is a string", config({ linux: "x" }), "config.json: linux must be an object"],
  [
    "a namespace type is unknown",
    config({ "linux.namespaces[2].type": "foo" }),
    'config.json: linux.namespaces[2].type "foo" is not a namespace type',
  ],
  [
    "a namespace is given twice",
    config({ "linux.namespaces[5]": { type: "pid" } }),
    'config.json: linux.namespaces has "pid" twice',
  ],
  [
    "a namespace path is relative",
    config({ "linux.namespaces[0].path": "proc/1/ns/pid" }),
    'config.json: linux.namespaces[0].path "proc/1/ns/pid" must be an absolute path',
  ],
  [
    "a time offset names a clock without offsets",
    config({ "linux.timeOffsets": { realtime: { secs: 1 } }, "linux.namespaces[5]": { type: "time" } }),
    'config.json: linux.timeOffsets["realtime"] is not a clock with an offset (need "monotonic" or "boottime")',
  ],
  [
    "a time offset has a second's worth of nanoseconds",
    config({
      "linux.timeOffsets": { monotonic: { nanosecs: 1e9 } },
      "linux.namespaces[5]": { type: "time" },
    }),
    "config.json: linux.timeOffsets.monotonic.nanosecs 1000000000 is out of range (0 to 999999999)",
  ],
  [
    "a device type is unknown",
    config({ "linux.devices": [{ type: "x", path: "/dev/x", major: 1, minor: 1 }] }),
    'config.json: linux.devices[0].type "x" is not a device type ("c", "b", "u" or "p")',
  ],
  [
    "a character device has no major number",
    config({ "linux.devices": [{ type: "c", path: "/dev/fuse", minor: 229 }] }),
    "config.json: linux.devices[0].major must be set",
  ],
  [
    "a device path is relative",
    config({ "linux.devices": [{ type: "c", path: "dev/fuse", major: 10, minor: 229 }] }),
    'config.json: linux.devices[0].path "dev/fuse" must be an absolute path',
  ],
  [
    "a device path is given twice",
    config({
      "linux.devices": [
        { type: "c", path: "/dev/fuse", major: 10, minor: 229 },
        { type: "c", path: "/dev/fuse", major: 10, minor: 229 },
      ],
    }),
    'config.json: linux.devices has "/dev/fuse" twice',
  ],
  [
    "a device file mode is a string",
    config({ "linux.devices": [{ type: "c", path: "/dev/fuse", major: 10, minor: 229, fileMode: "0666" }] }),
    "config.json: linux.devices[0].fileMode must be an integer",
  ],
  [
    "resources is a string",
    config({ "linux.resources": "x" }),
    "config.json: linux.resources must be an object",
  ],
  [
    "a device rule has a bad access",
    config({ "linux.resources.devices[0].access": "rwx" }),
    'config.json: linux.resources.devices[0].access "rwx" must combine "r", "w" and "m"',
  ],
  [
    "a device rule has no allow",
    config({ "linux.resources.devices[0].allow": undefined }),
    "config.json: linux.resources.devices[0].allow must be set",
  ],
  [
    "a device rule type is unknown",
    config({ "linux.resources.devices[0].type": "p" }),
    'config.json: linux.resources.devices[0].type "p" is not a device rule type ("a", "c" or "b")',
  ],
  [
    "cgroupsPath is a number",
    config({ "linux.cgroupsPath": 5 }),
    "config.json: linux.cgroupsPath must be a string",
  ],
  [
    "rootfsPropagation is unknown",
    config({ "linux.rootfsPropagation": "weird" }),
    'config.json: linux.rootfsPropagation "weird" is not a mount propagation ("private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable" or "runbindable")',
  ],
  [
    "a masked path is relative",
    config({ "linux.maskedPaths[0]": "proc/kcore" }),
    'config.json: linux.maskedPaths[0] "proc/kcore" must be an absolute path',
  ],
  [
    "readonlyPaths is a string",
    config({ "linux.readonlyPaths": "/proc" }),
    "config.json: linux.readonlyPaths must be an array",
  ],
  [
    "mountLabel is a number",
    config({ "linux.mountLabel": 1 }),
    "config.json: linux.mountLabel must be a string",
  ],
  [
    "a sysctl value is a number",
    config({ "linux.sysctl": { "kernel.shmmax": 1 } }),
    'config.json: linux.sysctl["kernel.shmmax"] must be a string',
  ],
  [
    "the personality domain is unknown",
    config({ "linux.personality": { domain: "LINUX64" } }),
    'config.json: linux.personality.domain "LINUX64" is not a personality domain ("LINUX" or "LINUX32")',
  ],
  [
    "an Intel RDT class of service leaves its directory",
    config({ "linux.intelRdt": { closID: "../x" } }),
    'config.json: linux.intelRdt.closID "../x" is not a valid directory name',
  ],
  [
    "an Intel RDT memory bandwidth schema lacks its prefix",
    config({ "linux.intelRdt": { memBwSchema: "L3:0=7f0" } }),
    'config.json: linux.intelRdt.memBwSchema "L3:0=7f0" must start with "MB:"',
  ],
  [
    "a network device name has a slash",
    config({ "linux.netDevices": { "eth/1": {} } }),
    'config.json: linux.netDevices["eth/1"] is not a network interface name',
  ],
];

describe("validateSpec refuses linux settings", () => {
  test.each(ROWS)("%s", (_what, raw, message) => {
    expect(rejection(raw)).toBe(message);
  });
});

describe("validateSpec reads device rules as the spec defines them", () => {
  test("a rule without access covers all of it, as unset type and numbers cover all devices", () => {
    const raw = config({
      "linux.resources.devices": [{ allow: false }, { allow: true, type: "c", major: 1 }],
    });
    const spec = validateSpec(raw, { bundle: BUNDLE });
    expect(spec.linux?.resources?.devices).toEqual([
      { allow: false, type: "a", major: undefined, minor: undefined, access: "rwm" },
      { allow: true, type: "c", major: 1, minor: undefined, access: "rwm" },
    ]);
  });
});
