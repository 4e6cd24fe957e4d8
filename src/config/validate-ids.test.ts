import { describe, expect, test } from "bun:test";
import { config, type Row, rejection, USERNS } from "./testing.ts";

// One row per mistake: [what is wrong, runc's default config.json changed to have it, the message].
const ROWS: Row[] = [
  [
    "there are more mappings than the kernel takes",
    config({
      ...USERNS,
      "linux.uidMappings": Array.from({ length: 341 }, (_, i) => ({
        containerID: i,
        hostID: 100000 + i,
        size: 1,
      })),
    }),
    "config.json: linux.uidMappings has 341 entries (the kernel takes at most 340)",
  ],
  [
    "a mapping has size 0",
    config({ ...USERNS, "linux.uidMappings[0].size": 0 }),
    "config.json: linux.uidMappings[0].size 0 is out of range (1 to 4294967295)",
  ],
  [
    "a mapping runs past the last id",
    config({ ...USERNS, "linux.uidMappings[0].hostID": 4294967295 }),
    "config.json: linux.uidMappings[0] runs past the last id (4294967295)",
  ],
  [
    "two mappings overlap in the container",
    config({ ...USERNS, "linux.uidMappings[1]": { containerID: 1000, hostID: 500000, size: 10 } }),
    "config.json: linux.uidMappings[1] overlaps linux.uidMappings[0] in container ids",
  ],
  [
    "two mappings overlap on the host",
    config({ ...USERNS, "linux.gidMappings[1]": { containerID: 70000, hostID: 100005, size: 10 } }),
    "config.json: linux.gidMappings[1] overlaps linux.gidMappings[0] in host ids",
  ],
  [
    "a mapping lacks hostID",
    config({ ...USERNS, "linux.uidMappings[0].hostID": undefined }),
    "config.json: linux.uidMappings[0].hostID must be set",
  ],
];

describe("validateSpec refuses id mappings", () => {
  test.each(ROWS)("%s", (_what, raw, message) => {
    expect(rejection(raw)).toBe(message);
  });
});
