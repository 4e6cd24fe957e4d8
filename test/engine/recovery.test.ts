// After a reboot-like loss of the run directory (monitors and containers killed, runtime state,
// exit files and namespace pins gone), `ps -a` still lists the containers, stopped, and `rm`
// cleans everything; `system prune` removes what crashed commands leave.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { jsonLines, leftovers, leopard, ok, RUN, removeAll, STORAGE } from "./harness.ts";

setDefaultTimeout(120_000);

afterAll(removeAll);

function unmountUnder(dir: string): void {
  const targets = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((t) => t.startsWith(`${dir}/`))
    .reverse();
  for (const t of targets) Bun.spawnSync(["umount", "-l", t]);
}

describe("recovery", () => {
  test("a lost run directory: ps -a shows the containers stopped; rm cleans up", async () => {
    await ok(["run", "-d", "--network", "none", "--name", "lost1", "busybox", "sleep", "1000"]);
    await ok(["run", "-d", "--name", "lost2", "busybox", "sleep", "1000"]);
    const pids = (JSON.parse(await ok(["inspect", "lost1", "lost2"])) as { State: { Pid: number } }[]).map(
      (c) => c.State.Pid,
    );
    // The "reboot": every monitor and container process dies, /run is emptied.
    for (const n of ["lost1", "lost2"]) {
      const id = (await ok(["ps", "-q", "--no-trunc", "--filter", `name=${n}`])).trim();
      process.kill(
        Number(readFileSync(join(STORAGE, "containers", id, "conmon.pid"), "utf8").trim()),
        "SIGKILL",
      );
    }
    for (const p of pids) process.kill(p, "SIGKILL");
    await Bun.sleep(300);
    unmountUnder(RUN);
    rmSync(RUN, { recursive: true, force: true });
    const ps = jsonLines<{ Names: string; State: string }>(await ok(["ps", "-a", "--format", "json"]));
    expect(
      ps
        .filter((c) => c.Names.startsWith("lost"))
        .map((c) => [c.Names, c.State])
        .sort(),
    ).toEqual([
      ["lost1", "exited"],
      ["lost2", "exited"],
    ]);
    await ok(["rm", "lost1", "lost2"]);
    expect(leftovers()).toEqual([]);
    // The network leftovers of lost2 (its address, veth, rules) are what system prune is for.
    const prune = await ok(["system", "prune", "-f"]);
    expect(prune).toContain("removed 0 container(s)");
    expect(existsSync(join(STORAGE, "ipam"))).toBe(true);
    const reserved = Bun.spawnSync(
      ["sh", "-c", `ls ${STORAGE}/ipam/*/ 2>/dev/null | grep -c '^[0-9]' || true`],
      { stdout: "pipe" },
    );
    expect(reserved.stdout.toString().trim()).toBe("0");
  });

  test("system prune removes stopped containers and leaves running ones", async () => {
    await ok(["create", "--network", "none", "--name", "idle", "busybox", "true"]);
    await ok(["run", "-d", "--network", "none", "--name", "busy", "busybox", "sleep", "1000"]);
    expect(await ok(["system", "prune", "-f"])).toContain("removed 1 container(s)");
    const names = jsonLines<{ Names: string }>(await ok(["ps", "-a", "--format", "json"])).map(
      (c) => c.Names,
    );
    expect(names).toContain("busy");
    expect(names).not.toContain("idle");
    await ok(["rm", "-f", "busy"]);
    expect((await leopard(["ps", "-aq"])).out).toBe("");
  });
});
