// Attack: open raw sockets (spoofing, sniffing the container's network) when CAP_NET_RAW was dropped. Defence: without CAP_NET_RAW the kernel refuses SOCK_RAW and AF_PACKET (EPERM).
import { describe, expect, test } from "bun:test";
import { hostSnapshot, probe, trackBundles } from "./harness.ts";

const use = trackBundles();

describe("escape-raw-socket", () => {
  test("raw IP and packet sockets are refused without CAP_NET_RAW", () => {
    const before = hostSnapshot();
    const { result, raw } = probe(use, ["raw"], (c) => {
      const caps = (c["process"] as Record<string, Record<string, string[]>>)["capabilities"]!;
      for (const k of ["bounding", "effective", "permitted"])
        caps[k] = (caps[k] ?? []).filter((n) => n !== "CAP_NET_RAW");
    });
    expect(raw).toMatchObject({ code: 0, stderr: "" });
    expect(result).toEqual({ "raw-inet": "EPERM", packet: "EPERM" });
    expect(hostSnapshot()).toEqual(before);
  });
});
