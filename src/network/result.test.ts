import { describe, expect, test } from "bun:test";
import type { Conflist } from "./conflist.ts";
import { pluginErrorMessage, pluginInput, summarizeResult } from "./result.ts";

const LIST: Conflist = {
  cniVersion: "1.0.0",
  name: "web",
  plugins: [
    { type: "bridge", bridge: "leopard1", capabilities: { ips: true } },
    { type: "portmap", capabilities: { portMappings: true } },
    { type: "firewall" },
  ],
  leopard: { created: "x" },
};
const maps = [{ hostPort: 8080, containerPort: 80, protocol: "tcp" as const }];

describe("pluginInput", () => {
  test("a plugin gets the list's name and version, and only the capabilities it declared", () => {
    const rt = { portMappings: maps, ips: ["10.89.1.5"] };
    expect(pluginInput(LIST, LIST.plugins[0]!, rt, undefined)).toEqual({
      type: "bridge",
      bridge: "leopard1",
      name: "web",
      cniVersion: "1.0.0",
      runtimeConfig: { ips: ["10.89.1.5"] },
    });
    expect(pluginInput(LIST, LIST.plugins[1]!, rt, { ips: [] })).toEqual({
      type: "portmap",
      name: "web",
      cniVersion: "1.0.0",
      runtimeConfig: { portMappings: maps },
      prevResult: { ips: [] },
    });
  });

  test("no runtimeConfig when the plugin declares nothing or nothing was offered", () => {
    expect(pluginInput(LIST, LIST.plugins[2]!, { portMappings: maps }, undefined)).toEqual({
      type: "firewall",
      name: "web",
      cniVersion: "1.0.0",
    });
    expect(pluginInput(LIST, LIST.plugins[1]!, {}, undefined)).not.toHaveProperty("runtimeConfig");
  });
});

// As the bridge plugin (1.1.1) returns it.
const RESULT = {
  cniVersion: "1.0.0",
  interfaces: [
    { name: "leopard0", mac: "56:b4:0b:f6:b2:14" },
    { name: "vethafdae92b", mac: "62:8d:75:a8:86:98" },
    { name: "eth0", mac: "2a:5f:6d:c2:54:d8", sandbox: "/run/leopard/netns/c1" },
  ],
  ips: [{ interface: 2, address: "10.89.0.2/24", gateway: "10.89.0.1" }],
  routes: [{ dst: "0.0.0.0/0" }],
  dns: {},
};

describe("summarizeResult", () => {
  test("interface, address, gateway, MAC and host veth come from the result", () => {
    expect(summarizeResult("leopard", "eth0", RESULT)).toEqual({
      network: "leopard",
      ifname: "eth0",
      ip: "10.89.0.2",
      prefixLength: 24,
      gateway: "10.89.0.1",
      mac: "2a:5f:6d:c2:54:d8",
      hostVeth: "vethafdae92b",
    });
  });

  test("a result without an IPv4 address is an error naming the network", () => {
    expect(() => summarizeResult("web", "eth1", { interfaces: [], ips: [] })).toThrow(
      'network "web": the CNI result has no IPv4 address for "eth1"',
    );
  });
});

test.each([
  [
    '{"code":7,"msg":"failed to allocate","details":"no IP addresses available"}',
    "",
    1,
    "failed to allocate: no IP addresses available",
  ],
  ['{"code":11,"msg":"boom"}', "", 1, "boom"],
  ["", "panic: x\nstack", 2, "panic: x"],
  ["", "", 3, "exit status 3"],
])("plugin error %p", (out, err, code, want) => {
  expect(pluginErrorMessage(out, err, code)).toBe(want);
});
