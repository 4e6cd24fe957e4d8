// The engine's networking with the real CNI plugins: a published busybox httpd fetched from the
// host, containers reaching each other by name on a user network, --network none, twenty
// containers at once on the default network, and nothing left after rm -f.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BRIDGE_PREFIX, leftovers, leopard, ok, RUN, removeAll, STORAGE, until } from "./harness.ts";

setDefaultTimeout(180_000);

afterAll(async () => {
  await removeAll();
  await leopard(["network", "rm", "cats"]);
});

function veths(): string[] {
  return readdirSync("/sys/class/net").filter((n) => n.startsWith("veth"));
}

function iptablesMentions(ids: string[]): string[] {
  const rules = Bun.spawnSync(["iptables-save"], { stdout: "pipe" }).stdout.toString();
  return rules.split("\n").filter((l) => ids.some((id) => l.includes(id)));
}

describe("engine networking", () => {
  test("-p 127.0.0.1:18080:80 publishes a busybox httpd to the host; port shows it", async () => {
    await ok([
      "run",
      "-d",
      "--name",
      "web",
      "-p",
      "127.0.0.1:18080:80",
      "busybox",
      "sh",
      "-c",
      "mkdir -p /www && echo hello from leopard > /www/index.html && exec httpd -f -p 80 -h /www",
    ]);
    let body = "";
    await until("httpd answers", async () => {
      try {
        body = await (await fetch("http://127.0.0.1:18080/")).text();
        return true;
      } catch {
        return false;
      }
    });
    expect(body).toBe("hello from leopard\n");
    expect(await ok(["port", "web"])).toBe("80/tcp -> 127.0.0.1:18080\n");
    expect(await ok(["ps"])).toContain("127.0.0.1:18080->80/tcp");
    // The same host port again: a clear error, and the second container leaves nothing.
    const before = (await ok(["ps", "-aq"])).trim();
    const busy = await leopard(["run", "-d", "--rm", "-p", "127.0.0.1:18080:80", "busybox", "sleep", "1"]);
    expect(busy.code).toBe(125);
    expect(busy.err).toContain("18080");
    expect((await ok(["ps", "-aq"])).trim()).toBe(before);
    await ok(["rm", "-f", "web"]);
    expect(leftovers()).toEqual([]);
  });

  test("two containers on a user network reach each other by name", async () => {
    await ok(["network", "create", "cats"]);
    await ok(["run", "-d", "--network", "cats", "--name", "tom", "busybox", "sleep", "1000"]);
    await ok(["run", "-d", "--network", "cats", "--name", "felix", "busybox", "sleep", "1000"]);
    // Both ways: felix was named in tom's /etc/hosts when it joined.
    expect((await leopard(["exec", "felix", "ping", "-c", "1", "-W", "5", "tom"])).code).toBe(0);
    expect((await leopard(["exec", "tom", "ping", "-c", "1", "-W", "5", "felix"])).code).toBe(0);
    const inspect = JSON.parse(await ok(["inspect", "tom"])) as {
      NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
    }[];
    expect(inspect[0]?.NetworkSettings.Networks["cats"]?.IPAddress).toMatch(/^10\.77\.\d+\.\d+$/);
    expect(await ok(["network", "check", "tom"])).toBe("tom: ok\n");
    const inUse = await leopard(["network", "rm", "cats"]);
    expect(inUse.code).toBe(1);
    expect(inUse.err).toContain("tom");
    await ok(["rm", "-f", "tom", "felix"]);
    await ok(["network", "rm", "cats"]);
  });

  test("--network none has only loopback, up", async () => {
    const out = await ok([
      "run",
      "--rm",
      "--network",
      "none",
      "busybox",
      "sh",
      "-c",
      "ls /sys/class/net; cat /sys/class/net/lo/operstate",
    ]);
    expect(out).toBe("lo\nunknown\n");
  });

  test("twenty containers at once on the default network: distinct addresses, all reach the host, nothing left", async () => {
    const vethsBefore = veths();
    const names = Array.from({ length: 20 }, (_, i) => `par${i}`);
    const runs = await Promise.all(
      names.map((n) => leopard(["run", "-d", "--name", n, "busybox", "sleep", "1000"])),
    );
    for (const r of runs) expect(r.err).toBe("");
    const ids = runs.map((r) => r.out.trim());
    const info = JSON.parse(await ok(["inspect", ...names])) as {
      NetworkSettings: { IPAddress: string; Networks: Record<string, { Gateway: string }> };
    }[];
    const ips = info.map((i) => i.NetworkSettings.IPAddress);
    expect(new Set(ips).size).toBe(20);
    const gateway = info[0]?.NetworkSettings.Networks["leopard"]?.Gateway ?? "";
    expect(gateway).toMatch(/^10\.77\./);
    const pings = await Promise.all(
      names.map((n) => leopard(["exec", n, "ping", "-c", "1", "-W", "5", gateway])),
    );
    expect(pings.map((p) => p.code)).toEqual(names.map(() => 0));
    await ok(["rm", "-f", ...names]);
    expect(leftovers()).toEqual([]);
    expect(veths().filter((v) => !vethsBefore.includes(v))).toEqual([]);
    expect(iptablesMentions(ids)).toEqual([]);
    expect(readdirSync(join(RUN, "netns"))).toEqual([]);
    const ipam = join(STORAGE, "ipam");
    const reserved = readdirSync(ipam, { recursive: true })
      .map(String)
      .filter((f) => /\d+\.\d+\.\d+\.\d+$/.test(f));
    expect(reserved).toEqual([]);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(`${BRIDGE_PREFIX}`);
  });
});
