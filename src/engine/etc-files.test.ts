import { expect, test } from "bun:test";
import { hostsFile, parseAddHost, resolvConf } from "./etc-files.ts";

test("hosts: localhost, own addresses, peers, --add-host", () => {
  expect(
    hostsFile({
      hostname: "web",
      addresses: ["10.89.0.2"],
      peers: [{ ip: "10.89.0.3", names: ["db", "abc123"] }],
      extra: [{ name: "gw", ip: "10.0.0.1" }],
    }),
  ).toBe(
    "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.0.0.1\tgw\n10.89.0.2\tweb\n10.89.0.3\tdb abc123\n",
  );
  expect(hostsFile({ hostname: "solo", addresses: [] })).toContain("127.0.1.1\tsolo\n");
});

test("resolv.conf drops loopback servers a container cannot reach, unless it shares the host's network", () => {
  const host = "nameserver 127.0.0.53\nnameserver 9.9.9.9\nsearch example.org\noptions edns0\n";
  expect(resolvConf(host, [])).toBe("nameserver 9.9.9.9\nsearch example.org\noptions edns0\n");
  expect(resolvConf(host, [], [], true)).toBe(host);
  expect(resolvConf(host, ["1.1.1.1"], ["a.b"])).toBe("nameserver 1.1.1.1\nsearch a.b\n");
  expect(resolvConf("nameserver 127.0.0.1\n", [])).toBe("");
});

test("--add-host", () => {
  expect(parseAddHost("db:10.0.0.5")).toEqual({ name: "db", ip: "10.0.0.5" });
  expect(() => parseAddHost("db")).toThrow("NAME:IP");
  expect(() => parseAddHost(":1.2.3.4")).toThrow("NAME:IP");
});
