import { describe, expect, test } from "bun:test";
import { commentOwner, planCleanup, splitRule } from "./iptables.ts";

describe("splitRule", () => {
  test.each([
    ["-A X -j ACCEPT", ["-A", "X", "-j", "ACCEPT"]],
    [
      '-A POSTROUTING -s 10.89.0.2/32 -m comment --comment "name: \\"leopard\\" id: \\"c1\\"" -j CNI-abc',
      [
        "-A",
        "POSTROUTING",
        "-s",
        "10.89.0.2/32",
        "-m",
        "comment",
        "--comment",
        'name: "leopard" id: "c1"',
        "-j",
        "CNI-abc",
      ],
    ],
    [
      '-A F -m comment --comment "two words" -j X',
      ["-A", "F", "-m", "comment", "--comment", "two words", "-j", "X"],
    ],
  ])("%s", (line, want) => {
    expect(splitRule(line)).toEqual(want);
  });
});

test("commentOwner reads the bridge and portmap comments", () => {
  expect(commentOwner(["--comment", 'name: "web" id: "abc"'])).toEqual({ network: "web", id: "abc" });
  expect(commentOwner(["--comment", 'dnat name: "web" id: "abc"'])).toEqual({ network: "web", id: "abc" });
  expect(commentOwner(["--comment", "CNI portfwd requiring masquerade"])).toBeUndefined();
  expect(commentOwner(["-j", "X"])).toBeUndefined();
});

const NAT = `*nat
:POSTROUTING ACCEPT [0:0]
:CNI-aaa - [0:0]
:CNI-bbb - [0:0]
:CNI-DN-aaa - [0:0]
:CNI-ppp - [0:0]
-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-A POSTROUTING -s 10.89.0.2/32 -m comment --comment "name: \\"leopard\\" id: \\"dead\\"" -j CNI-aaa
-A POSTROUTING -s 10.89.0.3/32 -m comment --comment "name: \\"leopard\\" id: \\"live\\"" -j CNI-bbb
-A POSTROUTING -s 10.88.0.9/32 -m comment --comment "name: \\"podman\\" id: \\"dead\\"" -j CNI-ppp
-A CNI-aaa -d 10.89.0.0/24 -m comment --comment "name: \\"leopard\\" id: \\"dead\\"" -j ACCEPT
-A CNI-aaa ! -d 224.0.0.0/4 -m comment --comment "name: \\"leopard\\" id: \\"dead\\"" -j MASQUERADE
-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"leopard\\" id: \\"dead\\"" -m multiport --dports 18080 -j CNI-DN-aaa
-A CNI-DN-aaa -s 10.89.0.0/24 -p tcp -m tcp --dport 18080 -j CNI-HOSTPORT-SETMARK
COMMIT
`;

describe("planCleanup", () => {
  test("rules and chains of dead containers on our networks go; live ones and other engines' stay", () => {
    const plan = planCleanup(
      "nat",
      NAT,
      new Set(["leopard"]),
      (id) => id === "dead",
      () => false,
    );
    expect(plan.rules.map((r) => r.args.slice(0, 2).join(" "))).toEqual([
      "-A POSTROUTING",
      "-A CNI-aaa",
      "-A CNI-aaa",
      "-A CNI-HOSTPORT-DNAT",
    ]);
    expect(plan.chains.map((c) => c.chain).sort()).toEqual(["CNI-DN-aaa", "CNI-aaa"]);
  });

  test("a chain still jumped to by a kept rule stays", () => {
    const text = `${NAT}-A POSTROUTING -s 10.89.0.9/32 -j CNI-aaa\n`;
    const plan = planCleanup(
      "nat",
      text,
      new Set(["leopard"]),
      (id) => id === "dead",
      () => false,
    );
    expect(plan.chains.map((c) => c.chain)).toEqual(["CNI-DN-aaa"]);
  });

  test("firewall rules of stale addresses go", () => {
    const filter = `*filter
-A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD
-A CNI-FORWARD -m comment --comment "CNI firewall plugin admin overrides" -j CNI-ADMIN
-A CNI-FORWARD -d 10.89.0.2/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A CNI-FORWARD -s 10.89.0.2/32 -j ACCEPT
-A CNI-FORWARD -s 10.89.0.3/32 -j ACCEPT
COMMIT
`;
    const plan = planCleanup(
      "filter",
      filter,
      new Set(["leopard"]),
      () => false,
      (ip) => ip === "10.89.0.2",
    );
    expect(plan.rules.map((r) => r.args.join(" "))).toEqual([
      "-A CNI-FORWARD -d 10.89.0.2/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
      "-A CNI-FORWARD -s 10.89.0.2/32 -j ACCEPT",
    ]);
    expect(plan.chains).toEqual([]);
  });
});
