import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import {
  attach,
  createNetns,
  detach,
  getNetwork,
  parsePublish,
  publishedPorts,
} from "../../src/network/index.ts";
import { idTag, iptablesMentioning, sh, testPaths } from "./harness.ts";

const paths = testPaths("port");
let www = "";
const servers: Subprocess[] = [];

beforeAll(() => {
  www = mkdtempSync(join(tmpdir(), "leopard-www-"));
  writeFileSync(join(www, "index.html"), "hello from the container\n");
});
afterAll(() => {
  for (const s of servers) s.kill("SIGKILL");
  rmSync(www, { recursive: true, force: true });
});

/** busybox httpd on port 80 inside the namespace, as a container's process would be. */
function httpd(ns: string): Subprocess {
  const p = Bun.spawn(["nsenter", `--net=${ns}`, "busybox", "httpd", "-f", "-p", "80", "-h", www], {
    stdout: "ignore",
    stderr: "ignore",
  });
  servers.push(p);
  return p;
}

/** GET url, retrying while the server starts; the body or the last error. */
async function get(url: string, tries = 50): Promise<string> {
  let last = "";
  for (let i = 0; i < tries; i++) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
      return await r.text();
    } catch (e) {
      last = String(e);
      await Bun.sleep(100);
    }
  }
  return `failed: ${last}`;
}

/** A global IPv4 address of the host (not on a bridge of ours), to reach 0.0.0.0-published ports. */
function hostAddress(): string | undefined {
  const addrs = JSON.parse(sh(["ip", "-j", "-4", "addr", "show", "scope", "global"]).out) as {
    ifname: string;
    addr_info: { local: string }[];
  }[];
  return addrs.find((a) => !a.ifname.startsWith(paths.bridgePrefix))?.addr_info[0]?.local;
}

describe("published ports (portmap)", () => {
  test("-p 127.0.0.1:18080:80 reaches busybox httpd in the namespace from the host", async () => {
    const ns = await createNetns(paths, "web1");
    try {
      await attach(paths, "web1", ns, ["leopard"], { portMappings: [parsePublish("127.0.0.1:18080:80")] });
      expect(publishedPorts(paths, "web1")).toEqual([
        { hostPort: 18080, containerPort: 80, protocol: "tcp", hostIP: "127.0.0.1" },
      ]);
      const server = httpd(ns);
      expect(await get("http://127.0.0.1:18080/")).toBe("hello from the container\n");
      // portmap's snat (on by default) set route_localnet on the bridge: without it the kernel
      // drops 127.0.0.1-sourced packets routed out of lo as martians.
      const { info } = await getNetwork(paths, "leopard");
      expect(sh(["sysctl", "-n", `net.ipv4.conf.${info.bridge}.route_localnet`]).out.trim()).toBe("1");
      // Published on 127.0.0.1 only: the host's other addresses do not forward.
      const other = hostAddress();
      if (other !== undefined) expect(await get(`http://${other}:18080/`, 1)).toStartWith("failed");
      server.kill("SIGKILL");
    } finally {
      await detach(paths, "web1");
    }
    expect(iptablesMentioning([idTag("web1"), "18080"])).toEqual([]);
    expect(await get("http://127.0.0.1:18080/", 1)).toStartWith("failed");
  });

  test("-p 18180:80 (every host address) is reachable on 127.0.0.1 and on the host's address", async () => {
    const ns = await createNetns(paths, "web2");
    try {
      await attach(paths, "web2", ns, ["leopard"], { portMappings: [parsePublish("18180:80")] });
      const server = httpd(ns);
      expect(await get("http://127.0.0.1:18180/")).toBe("hello from the container\n");
      const other = hostAddress();
      if (other !== undefined) expect(await get(`http://${other}:18180/`)).toBe("hello from the container\n");
      server.kill("SIGKILL");
    } finally {
      await detach(paths, "web2");
    }
    expect(iptablesMentioning([idTag("web2"), "18180"])).toEqual([]);
  });
});
