import { expect, test } from "bun:test";
import { parseProcRoutes } from "./routes.ts";
import { formatSubnet } from "./subnet.ts";

const TEXT = `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eth0	00000000	010200C0	0003	0	0	0	00000000	0	0	0
eth0	000200C0	00000000	0001	0	0	0	00FFFFFF	0	0	0
leopard0	0000590A	00000000	0001	0	0	0	00FFFFFF	0	0	0
wg0	0000000A	00000000	0001	0	0	0	000000FF	0	0	0
`;

test("the host's routes are read without the default route", () => {
  expect(parseProcRoutes(TEXT).map((r) => `${r.iface} ${formatSubnet(r.subnet)}`)).toEqual([
    "eth0 192.0.2.0/24",
    "leopard0 10.89.0.0/24",
    "wg0 10.0.0.0/8",
  ]);
});
