import { describe, expect, test } from "bun:test";
import {
  contains,
  formatIp,
  formatSubnet,
  nextFreeSubnet,
  overlaps,
  parseIp,
  parseSubnet,
  validateGateway,
  validateNetworkSubnet,
} from "./subnet.ts";

describe("addresses", () => {
  test.each([
    ["0.0.0.0", 0],
    ["10.89.0.1", 0x0a590001],
    ["255.255.255.255", 0xffffffff],
  ])("%s parses and formats back", (s, n) => {
    expect(parseIp(s)).toBe(n);
    expect(formatIp(n)).toBe(s);
  });

  test.each(["10.89.0", "10.89.0.256", "a.b.c.d", "10.089.0.1", "", "1.2.3.4.5"])("%p is refused", (s) => {
    expect(() => parseIp(s, "gateway")).toThrow(`gateway "${s}" is not an IPv4 address`);
  });
});

describe("subnets", () => {
  test.each([
    ["10.89.0.0/24", "10.89.0.0/24"],
    ["10.0.0.0/8", "10.0.0.0/8"],
    ["0.0.0.0/0", "0.0.0.0/0"],
  ])("%s round-trips", (s, out) => {
    expect(formatSubnet(parseSubnet(s))).toBe(out);
  });

  test.each([
    ["10.89.0.5/24", 'subnet "10.89.0.5/24" has host bits set (the network is 10.89.0.0/24)'],
    ["10.89.0.0", 'subnet "10.89.0.0" is not an IPv4 CIDR'],
    ["10.89.0.0/33", 'subnet "10.89.0.0/33" has a prefix length over 32'],
    ["fd00::/64", 'subnet "fd00::/64" is not an IPv4 CIDR'],
  ])("%s is refused", (s, msg) => {
    expect(() => parseSubnet(s)).toThrow(msg);
  });

  test("loose parsing clears host bits", () => {
    expect(formatSubnet(parseSubnet("10.89.0.5/24", { loose: true }))).toBe("10.89.0.0/24");
  });

  test.each([
    ["10.89.0.0/24", "10.89.0.0/16", true],
    ["10.89.0.0/24", "10.89.1.0/24", false],
    ["10.0.0.0/8", "10.200.3.0/24", true],
    ["192.168.0.0/16", "10.0.0.0/8", false],
  ])("%s overlaps %s: %p", (a, b, want) => {
    expect(overlaps(parseSubnet(a), parseSubnet(b))).toBe(want);
    expect(overlaps(parseSubnet(b), parseSubnet(a))).toBe(want);
  });

  test("contains", () => {
    const s = parseSubnet("10.89.3.0/24");
    expect(contains(s, parseIp("10.89.3.200"))).toBe(true);
    expect(contains(s, parseIp("10.89.4.1"))).toBe(false);
  });

  test.each([
    ["10.89.0.0/24", "10.89.0.1", undefined],
    ["10.89.0.0/24", "10.89.0.254", undefined],
    ["10.89.0.0/24", "10.89.0.0", 'gateway "10.89.0.0" is not a host address in subnet "10.89.0.0/24"'],
    ["10.89.0.0/24", "10.89.0.255", 'gateway "10.89.0.255" is not a host address'],
    ["10.89.0.0/24", "10.90.0.1", 'gateway "10.90.0.1" is not a host address'],
  ])("gateway in %s: %s", (s, gw, msg) => {
    const f = () => validateGateway(parseSubnet(s), parseIp(gw));
    if (msg === undefined) expect(f).not.toThrow();
    else expect(f).toThrow(msg);
  });

  test.each([
    ["10.0.0.0/8", true],
    ["10.89.0.0/30", true],
    ["10.89.0.0/31", false],
    ["10.0.0.0/7", false],
  ])("network subnet %s acceptable: %p", (s, ok) => {
    const f = () => validateNetworkSubnet(parseSubnet(s));
    if (ok) expect(f).not.toThrow();
    else expect(f).toThrow("must have a prefix length between /8 and /30");
  });
});

describe("nextFreeSubnet", () => {
  const pool = parseSubnet("10.89.0.0/16");
  test.each([
    [[], "10.89.0.0/24"],
    [["10.89.0.0/24"], "10.89.1.0/24"],
    [["10.89.0.0/24", "10.89.2.0/24"], "10.89.1.0/24"],
    [["10.89.0.0/23"], "10.89.2.0/24"],
    [["10.89.0.128/25"], "10.89.1.0/24"],
    [["10.0.0.0/8"], undefined],
    [["192.168.1.0/24"], "10.89.0.0/24"],
  ])("taken %p gives %p", (taken, want) => {
    const got = nextFreeSubnet(
      pool,
      24,
      taken.map((t) => parseSubnet(t)),
    );
    expect(got === undefined ? undefined : formatSubnet(got)).toBe(want);
  });

  test("an exhausted pool gives undefined", () => {
    const small = parseSubnet("10.89.0.0/23");
    expect(
      nextFreeSubnet(small, 24, [parseSubnet("10.89.0.0/24"), parseSubnet("10.89.1.0/24")]),
    ).toBeUndefined();
  });
});
