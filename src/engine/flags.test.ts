import { describe, expect, test } from "bun:test";
import {
  expandEnv,
  parseCpus,
  parseDevice,
  parseEnvFile,
  parseLabel,
  parsePublish,
  parseSince,
  parseSize,
  parseSysctl,
  parseTmpfs,
  parseUlimit,
  parseVolume,
} from "./flags.ts";

describe("flag parsers", () => {
  test.each([
    ["512m", 512 * 1024 ** 2],
    ["1g", 1024 ** 3],
    ["1.5G", 1.5 * 1024 ** 3],
    ["4096", 4096],
    ["64k", 65536],
    ["10mb", 10 * 1024 ** 2],
  ])("size %s", (v, n) => expect(parseSize(v)).toBe(n));

  test.each(["", "lots", "-1m", "0", "1x"])("bad size %p", (v) =>
    expect(() => parseSize(v, "--memory")).toThrow(`--memory "${v}"`));

  test("cpus", () => {
    expect(parseCpus("1.5")).toEqual({ quota: 150000, period: 100000 });
    expect(parseCpus("0.01")).toEqual({ quota: 1000, period: 100000 });
    expect(() => parseCpus("0")).toThrow("--cpus");
    expect(() => parseCpus("two")).toThrow("--cpus");
  });

  test("ulimits", () => {
    expect(parseUlimit("nofile=1024:2048")).toEqual({ type: "RLIMIT_NOFILE", soft: 1024, hard: 2048 });
    expect(parseUlimit("nproc=512")).toEqual({ type: "RLIMIT_NPROC", soft: 512, hard: 512 });
    expect(() => parseUlimit("nofile=10:5")).toThrow("soft limit is above the hard");
    expect(() => parseUlimit("files=10")).toThrow('unknown limit "files"');
    expect(() => parseUlimit("nofile")).toThrow("NAME=SOFT[:HARD]");
  });

  test.each([
    ["/a:/b", { source: "/a", named: false, destination: "/b", readonly: false }],
    ["/a:/b:ro", { source: "/a", named: false, destination: "/b", readonly: true }],
    ["data:/var/lib/x", { source: "data", named: true, destination: "/var/lib/x", readonly: false }],
    ["/anon", { source: "", named: true, destination: "/anon", readonly: false }],
    ["/a:/b:rw,z", { source: "/a", named: false, destination: "/b", readonly: false }],
  ])("volume %s", (v, want) => expect(parseVolume(v)).toEqual(want));

  test.each([
    ["/a:b", "must be absolute"],
    ["relative", "must be absolute"],
    ["/a:/b:rx", 'unknown option "rx"'],
    ["bad name!:/b", "volume name"],
    ["/a:/b:ro:x", "SOURCE:DESTINATION"],
  ])("bad volume %s", (v, msg) => expect(() => parseVolume(v)).toThrow(msg));

  test.each([
    ["8080:80", { hostIP: "", hostPort: 8080, containerPort: 80, protocol: "tcp" }],
    ["127.0.0.1:18080:80", { hostIP: "127.0.0.1", hostPort: 18080, containerPort: 80, protocol: "tcp" }],
    ["53:53/udp", { hostIP: "", hostPort: 53, containerPort: 53, protocol: "udp" }],
    ["80", { hostIP: "", hostPort: 80, containerPort: 80, protocol: "tcp" }],
    ["127.0.0.1::80", { hostIP: "127.0.0.1", hostPort: 80, containerPort: 80, protocol: "tcp" }],
  ])("publish %s", (v, want) => expect(parsePublish(v)).toEqual(want as ReturnType<typeof parsePublish>));

  test.each([
    ["70000:80", '"70000" is not in 1-65535'],
    ["80/sctp", "tcp or udp"],
    ["host:1:2", "not an IPv4 address"],
    ["1:2:3:4", "[IP:]HOSTPORT"],
  ])("bad publish %s", (v, msg) => expect(() => parsePublish(v)).toThrow(msg));

  test("env files and -e KEY", () => {
    expect(parseEnvFile("# c\nA=1\n\nB\nC=x=y\r\n", { B: "from-env" })).toEqual([
      "A=1",
      "B=from-env",
      "C=x=y",
    ]);
    expect(expandEnv(["X=1", "HOME", "UNSET"], { HOME: "/root" })).toEqual(["X=1", "HOME=/root"]);
    expect(() => expandEnv(["=x"], {})).toThrow("no name");
  });

  test("tmpfs, sysctl, label, device", () => {
    expect(parseTmpfs("/run")).toEqual({ destination: "/run", options: [] });
    expect(parseTmpfs("/run:size=64m,mode=1777")).toEqual({
      destination: "/run",
      options: ["size=64m", "mode=1777"],
    });
    expect(() => parseTmpfs("run")).toThrow("absolute");
    expect(parseSysctl("net.ipv4.ip_forward=1")).toEqual(["net.ipv4.ip_forward", "1"]);
    expect(() => parseSysctl("x")).toThrow("NAME=VALUE");
    expect(parseLabel("a=b=c")).toEqual(["a", "b=c"]);
    expect(parseLabel("flag")).toEqual(["flag", ""]);
    expect(parseDevice("/dev/fuse")).toEqual({ host: "/dev/fuse", container: "/dev/fuse", access: "rwm" });
    expect(parseDevice("/dev/null:r")).toEqual({ host: "/dev/null", container: "/dev/null", access: "r" });
    expect(parseDevice("/dev/null:/dev/mynull:rw")).toEqual({
      host: "/dev/null",
      container: "/dev/mynull",
      access: "rw",
    });
    expect(() => parseDevice("/dev/null:/x:rwx")).toThrow("permissions");
  });

  test("since", () => {
    const now = Date.parse("2026-11-29T10:00:00Z");
    expect(parseSince("10m", now)).toBe(now - 600_000);
    expect(parseSince("1h30m", now)).toBe(now - 5_400_000);
    expect(parseSince("2026-11-29T09:00:00Z", now)).toBe(now - 3_600_000);
    expect(parseSince("1700000000", now)).toBe(1_700_000_000_000);
    expect(() => parseSince("yesterday", now)).toThrow("--since");
  });
});
