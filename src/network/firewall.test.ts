import { describe, expect, test } from "bun:test";
import type { NetworkInfo } from "./conflist.ts";
import { chainOf, firewallPlan, firewallsIn } from "./firewall.ts";

const info: NetworkInfo = {
  name: "web",
  driver: "bridge",
  bridge: "leopard3",
  subnet: "10.89.3.0/24",
  gateway: "10.89.3.1",
  ipamDir: "/var/lib/leopard/ipam",
  created: "",
};

describe("firewallPlan", () => {
  const plan = firewallPlan(info);

  test("one chain per table, declared so that a rerun replaces its rules instead of adding more", () => {
    const lines = plan.restore.split("\n");
    expect(lines.filter((l) => l === ":LEOPARD-leopard3 - [0:0]")).toHaveLength(2);
    expect(lines.filter((l) => l === "COMMIT")).toHaveLength(2);
    expect(lines[0]).toBe("*nat");
    expect(lines).toContain("*filter");
  });

  test("masquerade only for traffic that leaves the subnet and is not multicast", () => {
    const nat = plan.restore.split("*filter")[0]!;
    expect(nat).toContain("-A LEOPARD-leopard3 -d 10.89.3.0/24 -j RETURN\n");
    expect(nat).toContain("-A LEOPARD-leopard3 -d 224.0.0.0/4 -j RETURN\n");
    expect(nat.trim().split("\n").at(-2)).toBe("-A LEOPARD-leopard3 -j MASQUERADE");
    expect(plan.jumps[0]).toEqual({
      table: "nat",
      chain: "POSTROUTING",
      rule: [
        "-s",
        "10.89.3.0/24",
        "-m",
        "comment",
        "--comment",
        "leopard network web",
        "-j",
        "LEOPARD-leopard3",
      ],
      first: false,
    });
  });

  test("forwarding: out of the bridge from the subnet, in only as replies or published ports", () => {
    const filter = plan.restore.split("*filter")[1]!;
    expect(filter).toContain("-A LEOPARD-leopard3 -s 10.89.3.0/24 -i leopard3 -j ACCEPT\n");
    expect(filter).toContain(
      "-A LEOPARD-leopard3 -d 10.89.3.0/24 -o leopard3 -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j ACCEPT\n",
    );
    // Ahead of whatever DROP rules the host has.
    expect(plan.jumps[1]).toMatchObject({ table: "filter", chain: "FORWARD", first: true });
  });

  test("the chain name fits iptables' limit for the longest interface name", () => {
    expect(chainOf("x".repeat(15)).length).toBeLessThanOrEqual(28);
  });
});

describe("firewallsIn", () => {
  test("finds each network chain and the rules that jump to it, and nothing of other chains", () => {
    const save = `*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:CNI-HOSTPORT-MASQ - [0:0]
:LEOPARD-leopard0 - [0:0]
:LEOPARD-lt12a1 - [0:0]
-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ
-A POSTROUTING -s 10.89.0.0/24 -m comment --comment "leopard network leopard" -j LEOPARD-leopard0
-A LEOPARD-leopard0 -d 10.89.0.0/24 -j RETURN
-A LEOPARD-leopard0 -j MASQUERADE
COMMIT
`;
    const found = firewallsIn(save);
    expect([...found.keys()].sort()).toEqual(["leopard0", "lt12a1"]);
    expect(found.get("leopard0")).toEqual([
      [
        "-A",
        "POSTROUTING",
        "-s",
        "10.89.0.0/24",
        "-m",
        "comment",
        "--comment",
        "leopard network leopard",
        "-j",
        "LEOPARD-leopard0",
      ],
    ]);
    expect(found.get("lt12a1")).toEqual([]);
  });
});
