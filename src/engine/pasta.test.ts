import { describe, expect, test } from "bun:test";
import { chooseRootlessNet } from "./network-types.ts";
import { needPasta, pastaArgv, pastaPort } from "./pasta.ts";

describe("pasta for a rootless container", () => {
  test("no published port: it joins init's namespaces and forwards nothing either way, the gateway not mapped to the host", () => {
    expect(pastaArgv("/usr/bin/pasta", 42, "/run/p.pid", [])).toEqual([
      "/usr/bin/pasta",
      "--config-net",
      "--quiet",
      "--no-map-gw",
      "-T",
      "none",
      "-U",
      "none",
      "-t",
      "none",
      "-u",
      "none",
      "--pid",
      "/run/p.pid",
      "--userns",
      "/proc/42/ns/user",
      "--netns",
      "/proc/42/ns/net",
    ]);
  });

  test("published ports: exactly those, by protocol, on the address given (all addresses without one)", () => {
    const argv = pastaArgv("/usr/bin/pasta", 7, "/p", [
      { hostIP: "127.0.0.1", hostPort: 8080, containerPort: 80, protocol: "tcp" },
      { hostIP: "", hostPort: 5353, containerPort: 53, protocol: "udp" },
      { hostIP: "::1", hostPort: 8443, containerPort: 443, protocol: "tcp" },
    ]);
    expect(argv.slice(4, 14)).toEqual([
      "-T",
      "none",
      "-U",
      "none",
      "-t",
      "127.0.0.1/8080:80",
      "-t",
      "::1/8443:443",
      "-u",
      "5353:53",
    ]);
    expect(argv).not.toContain("auto");
    expect(pastaPort({ hostIP: "", hostPort: 1, containerPort: 2, protocol: "tcp" })).toEqual(["-t", "1:2"]);
  });

  test("which program: pasta first, slirp4netns the fallback, or the one --network names", () => {
    const both = { pasta: true, slirp4netns: true };
    const slirpOnly = { pasta: false, slirp4netns: true };
    const pastaOnly = { pasta: true, slirp4netns: false };
    const neither = { pasta: false, slirp4netns: false };
    expect(chooseRootlessNet("bridge", both)).toBe("pasta");
    expect(chooseRootlessNet("mynet", slirpOnly)).toBe("slirp4netns");
    expect(chooseRootlessNet("bridge", pastaOnly)).toBe("pasta");
    expect(chooseRootlessNet("bridge", neither)).toBeUndefined();
    expect(chooseRootlessNet("slirp4netns", both)).toBe("slirp4netns");
    expect(chooseRootlessNet("pasta", both)).toBe("pasta");
    expect(chooseRootlessNet("pasta", slirpOnly)).toBeUndefined();
    expect(chooseRootlessNet("slirp4netns", pastaOnly)).toBeUndefined();
  });

  test("--network pasta without pasta names the package", () => {
    expect(needPasta().message).toBe(
      "--network pasta: pasta is not installed (as root: apt-get install passt), or use --network slirp4netns",
    );
  });
});
