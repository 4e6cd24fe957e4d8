import { describe, expect, test } from "bun:test";
import { hostfwd, needSlirp, parsePortArg, portArg, slirpArgv } from "./slirp.ts";

describe("slirp4netns for a rootless container", () => {
  test("it joins init's user and network namespaces, configures tap0 and keeps the host's loopback out", () => {
    expect(slirpArgv("/usr/bin/slirp4netns", 42, "/run/s.sock")).toEqual([
      "/usr/bin/slirp4netns",
      "--configure",
      "--mtu=65520",
      "--disable-host-loopback",
      "--api-socket",
      "/run/s.sock",
      "--userns-path",
      "/proc/42/ns/user",
      "--netns-type",
      "path",
      "/proc/42/ns/net",
      "tap0",
    ]);
  });

  test("a published port becomes add_hostfwd to 10.0.2.100, all addresses when none is given", () => {
    expect(
      JSON.parse(hostfwd({ hostIP: "127.0.0.1", hostPort: 8080, containerPort: 80, protocol: "tcp" })),
    ).toEqual({
      execute: "add_hostfwd",
      arguments: {
        proto: "tcp",
        host_addr: "127.0.0.1",
        host_port: 8080,
        guest_addr: "10.0.2.100",
        guest_port: 80,
      },
    });
    expect(
      JSON.parse(hostfwd({ hostIP: "", hostPort: 53, containerPort: 53, protocol: "udp" })).arguments
        .host_addr,
    ).toBe("0.0.0.0");
  });

  test("the hook's port arguments round-trip, and a bad one is one line", () => {
    const p = { hostIP: "", hostPort: 8080, containerPort: 80, protocol: "udp" } as const;
    expect(parsePortArg(portArg(p))).toEqual(p);
    expect(() => parsePortArg("8080")).toThrow(/slirp-hook: port "8080" is not HOST_IP:PORT:PORT\/PROTO/);
  });

  test("with neither pasta nor slirp4netns the error names the packages and the networks that need none", () => {
    expect(needSlirp("leopard").message).toBe(
      "--network leopard: a rootless container's network needs pasta or slirp4netns, and neither is installed (as root: apt-get install passt, or slirp4netns), or use --network none or --network host",
    );
  });
});
