import { describe, expect, test } from "bun:test";
import { config, NO_UTS, type Row, rejection, USERNS } from "./testing.ts";

// One row per mistake: [what is wrong, runc's default config.json changed to have it, the message].
const ROWS: Row[] = [
  [
    "hostname is set without a uts namespace",
    config(NO_UTS),
    'config.json: hostname "runc" is set but linux.namespaces has no uts namespace',
  ],
  [
    "domainname is set without a uts namespace",
    config({ ...NO_UTS, hostname: undefined, domainname: "example.org" }),
    'config.json: domainname "example.org" is set but linux.namespaces has no uts namespace',
  ],
  [
    "there is no mount namespace",
    config({ "linux.namespaces[4]": undefined }),
    "config.json: linux.namespaces must have a \"mount\" entry (a new mount namespace, or one joined by path): without one the container's mounts would be made in, and left behind in, the host's",
  ],
  [
    "uid mappings are set without a user namespace",
    config({ "linux.uidMappings": USERNS["linux.uidMappings"] }),
    "config.json: linux.uidMappings is set but linux.namespaces has no user namespace",
  ],
  [
    "gid mappings are set without a user namespace",
    config({ "linux.gidMappings": USERNS["linux.gidMappings"] }),
    "config.json: linux.gidMappings is set but linux.namespaces has no user namespace",
  ],
  [
    "a user namespace is created without uid mappings",
    config({ ...USERNS, "linux.uidMappings": undefined }),
    "config.json: linux.uidMappings must be set when a user namespace is created",
  ],
  [
    "a user namespace is created with empty gid mappings",
    config({ ...USERNS, "linux.gidMappings": [] }),
    "config.json: linux.gidMappings must be set when a user namespace is created",
  ],
  [
    "the process uid is not mapped",
    config({ ...USERNS, "process.user.uid": 70000 }),
    "config.json: process.user.uid 70000 is not mapped by linux.uidMappings",
  ],
  [
    "the process gid is not mapped",
    config({ ...USERNS, "process.user.gid": 65536 }),
    "config.json: process.user.gid 65536 is not mapped by linux.gidMappings",
  ],
  [
    "an additional gid is not mapped",
    config({ ...USERNS, "process.user.additionalGids": [5, 99999] }),
    "config.json: process.user.additionalGids[1] 99999 is not mapped by linux.gidMappings",
  ],
  [
    "time offsets are set without a time namespace",
    config({ "linux.timeOffsets": { monotonic: { secs: 10 } } }),
    "config.json: linux.timeOffsets is set but linux.namespaces has no time namespace",
  ],
  [
    "time offsets are set for a joined time namespace",
    config({
      "linux.timeOffsets": { boottime: { secs: 10 } },
      "linux.namespaces[5]": { type: "time", path: "/proc/1/ns/time" },
    }),
    "config.json: linux.timeOffsets cannot apply to a time namespace joined by path",
  ],
  [
    "a network sysctl without a network namespace",
    config({ "linux.namespaces[1]": undefined, "linux.sysctl": { "net.ipv4.ip_forward": "1" } }),
    'config.json: linux.sysctl["net.ipv4.ip_forward"] needs a network namespace (linux.namespaces has none)',
  ],
  [
    "a network sysctl written with slashes, without a network namespace",
    config({ "linux.namespaces[1]": undefined, "linux.sysctl": { "net/ipv4/conf/eth0.100/rp_filter": "1" } }),
    'config.json: linux.sysctl["net/ipv4/conf/eth0.100/rp_filter"] needs a network namespace (linux.namespaces has none)',
  ],
  [
    "an ipc sysctl without an ipc namespace",
    config({ "linux.namespaces[2]": undefined, "linux.sysctl": { "fs.mqueue.msg_max": "10" } }),
    'config.json: linux.sysctl["fs.mqueue.msg_max"] needs an ipc namespace (linux.namespaces has none)',
  ],
  [
    "a sysctl that is not namespaced",
    config({ "linux.sysctl": { "vm.swappiness": "10" } }),
    'config.json: linux.sysctl["vm.swappiness"] is not namespaced, so setting it would change the host',
  ],
  [
    "the hostname sysctl",
    config({ "linux.sysctl": { "kernel.hostname": "x" } }),
    'config.json: linux.sysctl["kernel.hostname"] conflicts with the "hostname" field (set that instead)',
  ],
  [
    "the domainname sysctl without a uts namespace",
    config({ ...NO_UTS, hostname: undefined, "linux.sysctl": { "kernel.domainname": "x" } }),
    'config.json: linux.sysctl["kernel.domainname"] needs a uts namespace (linux.namespaces has none)',
  ],
  [
    "a network device is moved without a network namespace",
    config({ "linux.namespaces[1]": undefined, "linux.netDevices": { eth1: {} } }),
    "config.json: linux.netDevices is set but linux.namespaces has no network namespace",
  ],
];

describe("validateSpec refuses fields that contradict each other", () => {
  test.each(ROWS)("%s", (_what, raw, message) => {
    expect(rejection(raw)).toBe(message);
  });
});
