import { describe, expect, test } from "bun:test";
import { collides, findCollision, parsePublish, validateMappings } from "./ports.ts";

describe("parsePublish", () => {
  test.each([
    ["80", { hostPort: 80, containerPort: 80, protocol: "tcp" }],
    ["8080:80", { hostPort: 8080, containerPort: 80, protocol: "tcp" }],
    ["53:53/udp", { hostPort: 53, containerPort: 53, protocol: "udp" }],
    ["127.0.0.1:18080:80", { hostPort: 18080, containerPort: 80, protocol: "tcp", hostIP: "127.0.0.1" }],
    ["0.0.0.0:18080:80", { hostPort: 18080, containerPort: 80, protocol: "tcp" }],
    ["127.0.0.1::80", { hostPort: 80, containerPort: 80, protocol: "tcp", hostIP: "127.0.0.1" }],
  ])("%s", (spec, want) => {
    expect(parsePublish(spec)).toEqual(want as ReturnType<typeof parsePublish>);
  });

  test.each([
    ["80/sctp", "protocol must be tcp or udp"],
    ["70000:80", 'host port "70000" is not a port number'],
    ["8080:", "is not [hostIP:][hostPort:]containerPort"],
    ["1:2:3:4", "is not [hostIP:][hostPort:]containerPort"],
    ["300.1.1.1:80:80", 'host address "300.1.1.1" is not an IPv4 address'],
    ["x", 'container port "x" is not a port number'],
  ])("%s is refused", (spec, msg) => {
    expect(() => parsePublish(spec)).toThrow(msg);
  });
});

test("validateMappings refuses ports out of range", () => {
  expect(() => validateMappings([{ hostPort: 0, containerPort: 80, protocol: "tcp" }])).toThrow(
    "port 0 is out of range",
  );
});

describe("collisions", () => {
  const m = (hostPort: number, protocol: "tcp" | "udp", hostIP?: string) => ({
    hostPort,
    containerPort: 80,
    protocol,
    ...(hostIP ? { hostIP } : {}),
  });
  test.each([
    [m(80, "tcp"), m(80, "tcp"), true],
    [m(80, "tcp"), m(80, "udp"), false],
    [m(80, "tcp", "127.0.0.1"), m(80, "tcp"), true],
    [m(80, "tcp", "127.0.0.1"), m(80, "tcp", "10.0.0.1"), false],
    [m(80, "tcp"), m(81, "tcp"), false],
  ])("%p vs %p: %p", (a, b, want) => {
    expect(collides(a, b)).toBe(want);
  });

  test("findCollision names the port and the other container", () => {
    expect(findCollision([m(8080, "tcp")], [{ owner: "web", mapping: m(8080, "tcp", "127.0.0.1") }])).toBe(
      'port 0.0.0.0:8080/tcp is already published by container "web"',
    );
    expect(findCollision([m(8080, "tcp"), m(8080, "tcp")], [])).toBe(
      "port 0.0.0.0:8080/tcp is published twice",
    );
    expect(findCollision([m(8080, "tcp")], [])).toBeUndefined();
  });
});
