import { describe, expect, test } from "bun:test";
import { BUNDLE, config, type Row, rejection } from "./testing.ts";
import { validateSpec } from "./validate.ts";

// One row per mistake: [what is wrong, runc's default config.json changed to have it, the message].
const ROWS: Row[] = [
  ["mounts is an object", config({ mounts: {} }), "config.json: mounts must be an array"],
  [
    "a mount destination is relative",
    config({ "mounts[3].destination": "proc" }),
    'config.json: mounts[3].destination "proc" must be an absolute path',
  ],
  [
    "a mount has no destination",
    config({ "mounts[0].destination": undefined }),
    "config.json: mounts[0].destination must be set",
  ],
  [
    "mount options is a string",
    config({ "mounts[0].options": "ro" }),
    "config.json: mounts[0].options must be an array",
  ],
  [
    "an id-mapped mount has only uid mappings",
    config({ "mounts[0].uidMappings": [{ containerID: 0, hostID: 1000, size: 1 }] }),
    "config.json: mounts[0].gidMappings must be set when uidMappings is",
  ],
  [
    "an id-mapped mount is not a bind mount",
    config({
      "mounts[0].uidMappings": [{ containerID: 0, hostID: 1000, size: 1 }],
      "mounts[0].gidMappings": [{ containerID: 0, hostID: 1000, size: 1 }],
    }),
    'config.json: mounts[0].uidMappings needs a bind mount ("bind" or "rbind" in options)',
  ],
  [
    "idmap is asked of a mount that is not a bind mount",
    config({ "mounts[0].options": ["idmap"] }),
    'config.json: mounts[0].options has "idmap", which needs a bind mount ("bind" or "rbind" in options)',
  ],
  [
    "idmap has neither maps of its own nor a user namespace to take them from",
    config({ "mounts[1].options": ["rbind", "ridmap"] }),
    'config.json: mounts[1] ("/dev") has "ridmap" but no uidMappings/gidMappings, and the container creates no user namespace whose maps it could use',
  ],
  [
    "a bind mount over /proc (CVE-2019-16884)",
    config({
      "mounts[0].type": "bind",
      "mounts[0].source": "/tmp/fake-proc",
      "mounts[0].options": ["rbind"],
    }),
    'config.json: mounts[0].destination is "/proc", where only procfs may be mounted (type "proc"), not a bind mount of "/tmp/fake-proc"',
  ],
  [
    "a tmpfs on /proc",
    config({ "mounts[0].type": "tmpfs", "mounts[0].source": "tmpfs" }),
    'config.json: mounts[0].destination is "/proc", where only procfs may be mounted (type "proc"), not type "tmpfs"',
  ],
  [
    "procfs asked to be a bind mount onto /proc",
    config({ "mounts[0].options": ["rbind"] }),
    'config.json: mounts[0].destination is "/proc", where only procfs may be mounted (type "proc"), not a bind mount of "/run/bundles/c1/proc"',
  ],
  [
    "a mount inside /proc, over where the LSM label is written",
    config({ "mounts[1].destination": "/proc/self/attr" }),
    'config.json: mounts[1].destination "/proc/self/attr" is inside /proc, where nothing but procfs and the files lxcfs provides (e.g. "/proc/meminfo") may be mounted',
  ],
  [
    "a mount inside /proc written with dots and slashes",
    config({ "mounts[1].destination": "//proc/./sys/../sys/kernel/" }),
    'config.json: mounts[1].destination "//proc/./sys/../sys/kernel/" is inside /proc, where nothing but procfs and the files lxcfs provides (e.g. "/proc/meminfo") may be mounted',
  ],
  ["hooks is an array", config({ hooks: [] }), "config.json: hooks must be an object"],
  [
    "a hook list is a string",
    config({ "hooks.createRuntime": "x" }),
    "config.json: hooks.createRuntime must be an array",
  ],
  [
    "a hook path is relative",
    config({ "hooks.prestart": [{ path: "hook" }] }),
    'config.json: hooks.prestart[0].path "hook" must be an absolute path',
  ],
  [
    "a hook timeout is zero",
    config({ "hooks.poststop": [{ path: "/bin/true", timeout: 0 }] }),
    "config.json: hooks.poststop[0].timeout 0 is out of range (1 to 2147483647)",
  ],
];

describe("validateSpec refuses mounts and hooks", () => {
  test.each(ROWS)("%s", (_what, raw, message) => {
    expect(rejection(raw)).toBe(message);
  });
});

describe("validateSpec allows at /proc what runc allows", () => {
  const mountAt = (patch: Record<string, unknown>) =>
    validateSpec(config(patch), { bundle: BUNDLE }).mounts[1];
  test("a bind mount of the host's /proc (podman's --pid=host)", () => {
    expect(
      mountAt({ "mounts[1]": { destination: "/proc/", type: "bind", source: "/proc", options: ["rbind"] } }),
    ).toMatchObject({ destination: "/proc/", source: "/proc" });
  });
  test("a file lxcfs provides, bind-mounted over its /proc file", () => {
    const m = {
      destination: "/proc/meminfo",
      type: "bind",
      source: "/var/lib/lxcfs/proc/meminfo",
      options: ["bind"],
    };
    expect(mountAt({ "mounts[1]": m })).toMatchObject({ destination: "/proc/meminfo" });
  });
});
