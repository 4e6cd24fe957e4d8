import { describe, expect, test } from "bun:test";
import type { DeviceRule } from "../../config/types.ts";
import { containerDeviceRules } from "./devices.ts";
import { deviceFilterInsns, encodeInsns, runDeviceFilter } from "./devices-bpf.ts";

const r = (
  allow: boolean,
  type: "a" | "c" | "b",
  major?: number,
  minor?: number,
  access = "rwm",
): DeviceRule => ({
  allow,
  type,
  major,
  minor,
  access,
});

describe("the cgroup v2 device filter", () => {
  const rules = containerDeviceRules([r(false, "a")]);
  const prog = deviceFilterInsns(rules);
  const run = (type: "c" | "b", access: string, major: number, minor: number) =>
    runDeviceFilter(prog, type, access, major, minor);

  test("deny-all then the default devices allows /dev/null and refuses a disk", () => {
    expect(run("c", "rw", 1, 3)).toBe(true);
    expect(run("c", "m", 1, 3)).toBe(true);
    expect(run("c", "rw", 136, 7)).toBe(true); // any pty slave
    expect(run("b", "r", 8, 0)).toBe(false);
    expect(run("c", "r", 10, 200)).toBe(false);
    expect(run("b", "r", 1, 3)).toBe(false); // type matters
  });

  test("a device gets only the access its linux.resources.devices rule grants, as runc gives it", () => {
    // docker run --device /dev/loop0:/dev/lp:r (the node is in linux.devices, which adds no rule)
    const rules = containerDeviceRules([r(false, "a"), r(true, "b", 7, 0, "r")]);
    expect(rules.filter((x) => x.major === 7)).toEqual([r(true, "b", 7, 0, "r")]);
    const p = deviceFilterInsns(rules);
    expect(runDeviceFilter(p, "b", "r", 7, 0)).toBe(true);
    expect(runDeviceFilter(p, "b", "w", 7, 0)).toBe(false);
    // and a node no rule names is refused, as in runc
    const none = deviceFilterInsns(containerDeviceRules([r(false, "a")]));
    expect(runDeviceFilter(none, "b", "r", 7, 0)).toBe(false);
  });

  test("a later rule overrides an earlier one", () => {
    const p = deviceFilterInsns([r(false, "a"), r(true, "c", 1, 3, "rwm"), r(false, "c", 1, 3, "w")]);
    expect(runDeviceFilter(p, "c", "r", 1, 3)).toBe(true);
    expect(runDeviceFilter(p, "c", "w", 1, 3)).toBe(false);
    // read+write at once is refused: the deny forbids part of it.
    expect(runDeviceFilter(p, "c", "rw", 1, 3)).toBe(false);
  });

  test("an allow rule grants only the access it lists", () => {
    const p = deviceFilterInsns([r(false, "a"), r(true, "c", 1, 5, "r")]);
    expect(runDeviceFilter(p, "c", "r", 1, 5)).toBe(true);
    expect(runDeviceFilter(p, "c", "rw", 1, 5)).toBe(false);
  });

  test("wildcard majors and minors match any device", () => {
    const p = deviceFilterInsns([r(false, "a"), r(true, "b", undefined, undefined, "r")]);
    expect(runDeviceFilter(p, "b", "r", 259, 3)).toBe(true);
    expect(runDeviceFilter(p, "c", "r", 259, 3)).toBe(false);
  });

  test("without a deny-all rule unmatched devices stay allowed, as in a fresh v1 cgroup", () => {
    const p = deviceFilterInsns([r(false, "c", 10, 200)]);
    expect(runDeviceFilter(p, "c", "r", 10, 200)).toBe(false);
    expect(runDeviceFilter(p, "c", "r", 1, 3)).toBe(true);
  });

  test("nothing follows a rule that matches everything (the verifier refuses dead code)", () => {
    const p = deviceFilterInsns([r(true, "c", 1, 3), r(true, "a")]);
    expect(p.at(-1)?.code).toBe(0x95);
    expect(p.length).toBe(8); // 6 loads + mov + exit
  });

  test("majors above 2^31 still compare as 32-bit values", () => {
    const p = deviceFilterInsns([r(false, "a"), r(true, "c", 0xfffffff0, 1)]);
    expect(runDeviceFilter(p, "c", "r", 0xfffffff0, 1)).toBe(true);
  });

  test("instructions encode as 8 little-endian bytes each", () => {
    const bytes = encodeInsns(deviceFilterInsns([r(true, "a")]));
    expect(bytes.length).toBe(8 * 8);
    // ldxw r2, [r1+0]: opcode 0x61, src 1 in the high nibble, dst 2 in the low one.
    expect([...bytes.subarray(0, 8)]).toEqual([0x61, 0x12, 0, 0, 0, 0, 0, 0]);
    // ldxw r4, [r1+4]
    expect([...bytes.subarray(32, 36)]).toEqual([0x61, 0x14, 4, 0]);
  });
});
