// Housekeeping verbs: rename, anonymous volumes and rm -v, volume prune, container prune,
// --security-opt no-new-privileges, logs --since, and the image's own Volumes.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { imageWithVolumes, jsonLines, leopard, ok, removeAll } from "./harness.ts";

setDefaultTimeout(60_000);
const NONE = ["--network", "none"];

afterAll(removeAll);

describe("managing containers and volumes", () => {
  test("rename: the new name works, the old one is gone, a taken one is refused", async () => {
    await ok(["create", ...NONE, "--name", "before", "busybox", "true"]);
    await ok(["create", ...NONE, "--name", "taken", "busybox", "true"]);
    await ok(["rename", "before", "after"]);
    expect((await leopard(["inspect", "--type", "container", "before"])).code).toBe(1);
    expect(JSON.parse(await ok(["inspect", "after"]))[0].Name).toBe("/after");
    const r = await leopard(["rename", "after", "taken"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('"taken" is already in use');
    await ok(["rm", "after", "taken"]);
  });

  test("an anonymous volume goes with rm -v, a named one stays; volume prune takes the unused anonymous ones", async () => {
    const id = (
      await ok(["create", ...NONE, "-v", "/scratch", "-v", "keepme:/keep", "busybox", "true"])
    ).trim();
    const mounts =
      (JSON.parse(await ok(["inspect", id])) as { Mounts: { Name: string; Destination: string }[] }[])[0]
        ?.Mounts ?? [];
    const anon = mounts.find((m) => m.Destination === "/scratch")?.Name ?? "";
    expect(anon).toMatch(/^[0-9a-f]{64}$/);
    expect(await ok(["volume", "ls", "-q"])).toContain(anon);
    await ok(["rm", "-v", id]);
    const left = await ok(["volume", "ls", "-q"]);
    expect(left).not.toContain(anon);
    expect(left).toContain("keepme\n");
    // Without -v the anonymous volume stays until volume prune.
    const id2 = (await ok(["create", ...NONE, "-v", "/scratch", "busybox", "true"])).trim();
    await ok(["rm", id2]);
    const orphan = (await ok(["volume", "ls", "-q"])).split("\n").filter((v) => /^[0-9a-f]{64}$/.test(v));
    expect(orphan.length).toBe(1);
    expect(await ok(["volume", "prune", "-f"])).toBe(`${orphan[0]}\n`);
    expect(await ok(["volume", "ls", "-q"])).toBe("keepme\n");
    await ok(["volume", "rm", "keepme"]);
  });

  test("an image's declared Volumes become anonymous volumes, unless -v mounts something there", async () => {
    await imageWithVolumes("busybox-vol", ["/data"]);
    const id = (
      await ok(["run", "-d", ...NONE, "busybox-vol", "sh", "-c", "echo kept > /data/f; sleep 100"])
    ).trim();
    const mounts =
      (JSON.parse(await ok(["inspect", id])) as { Mounts: { Name: string; Destination: string }[] }[])[0]
        ?.Mounts ?? [];
    const anon = mounts.find((m) => m.Destination === "/data")?.Name ?? "";
    expect(anon).toMatch(/^[0-9a-f]{64}$/);
    // A mount of its own inside (not the image's directory), and what is written there stays.
    expect(await ok(["exec", id, "sh", "-c", "grep -c ' /data ' /proc/mounts; cat /data/f"])).toBe(
      "1\nkept\n",
    );
    await ok(["rm", "-f", "-v", id]);
    expect(await ok(["volume", "ls", "-q"])).not.toContain(anon);
    // -v on the same path: the named volume, and no anonymous one.
    const id2 = (await ok(["create", ...NONE, "-v", "mine:/data", "busybox-vol", "true"])).trim();
    const m2 =
      (JSON.parse(await ok(["inspect", id2])) as { Mounts: { Name: string; Destination: string }[] }[])[0]
        ?.Mounts ?? [];
    expect(m2.map((m) => `${m.Name}:${m.Destination}`)).toEqual(["mine:/data"]);
    await ok(["rm", "-v", id2]);
    await ok(["volume", "rm", "mine"]);
    await ok(["rmi", "busybox-vol"]);
  });

  test("container prune removes stopped containers only", async () => {
    await ok(["create", ...NONE, "--name", "stopped1", "busybox", "true"]);
    await ok(["run", "-d", ...NONE, "--name", "alive", "busybox", "sleep", "1000"]);
    const pruned = await ok(["container", "prune", "-f"]);
    expect(pruned.split("\n").filter((x) => x !== "").length).toBe(1);
    const names = jsonLines<{ Names: string }>(await ok(["ps", "-a", "--format", "json"])).map(
      (c) => c.Names,
    );
    expect(names).toEqual(["alive"]);
    await ok(["rm", "-f", "alive"]);
  });

  test("--security-opt no-new-privileges sets NoNewPrivs; docker's default leaves it off", async () => {
    const nnp = async (...f: string[]) =>
      (
        await ok(["run", "--rm", ...NONE, ...f, "busybox", "sh", "-c", "grep NoNewPrivs /proc/self/status"])
      ).trim();
    expect(await nnp()).toBe("NoNewPrivs:\t0");
    expect(await nnp("--security-opt", "no-new-privileges")).toBe("NoNewPrivs:\t1");
    const bad = await leopard(["run", "--rm", ...NONE, "--security-opt", "label=disable", "busybox", "true"]);
    expect(bad.code).toBe(125);
    expect(bad.err).toContain('--security-opt "label=disable"');
  });

  test("logs --since shows only what came after", async () => {
    const id = (
      await ok(["run", "-d", ...NONE, "busybox", "sh", "-c", "echo early; sleep 2; echo late"])
    ).trim();
    expect(await ok(["wait", id])).toBe("0\n");
    expect(await ok(["logs", id])).toBe("early\nlate\n");
    const early = (await ok(["logs", "-t", id])).split(" ")[0] ?? "";
    const since = new Date(Date.parse(early) + 1000).toISOString();
    expect(await ok(["logs", "--since", since, id])).toBe("late\n");
    await ok(["rm", id]);
  });
});
