// Detached containers under conmon: logs (and -f), stop's signal then SIGKILL, restart, exec,
// cp both ways, volumes, --rm after exit, ps and inspect, and nothing left after rm -f.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { jsonLines, leftovers, leopard, ok, removeAll, tempDir, until } from "./harness.ts";

setDefaultTimeout(90_000);
const NONE = ["--network", "none"];
const COUNTER = ["sh", "-c", "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.1; done"];

afterAll(removeAll);

async function state(name: string): Promise<{ Status: string; ExitCode: number; Pid: number }> {
  const j = JSON.parse(await ok(["inspect", "--type", "container", name])) as {
    State: { Status: string; ExitCode: number; Pid: number };
  }[];
  if (!j[0]) throw new Error(`no inspect output for ${name}`);
  return j[0].State;
}

describe("detached containers", () => {
  test("logs follows a counting container; stop sends SIGKILL after the timeout to a process ignoring SIGTERM", async () => {
    const id = (await ok(["run", "-d", ...NONE, "--name", "counter", "busybox", ...COUNTER])).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    await until("5 log lines", async () => (await ok(["logs", "counter"])).split("\n").length > 5);
    expect((await ok(["ps"])).split("\n").some((l) => l.includes("counter") && l.includes("Up "))).toBe(true);
    const tail = await ok(["logs", "--tail", "2", "counter"]);
    expect(tail.split("\n").filter((l) => l !== "").length).toBe(2);
    expect(await ok(["logs", "-t", "--tail", "1", "counter"])).toMatch(/^\d{4}-\d\d-\d\dT\S+ line \d+\n$/);
    // -f keeps printing while the container runs and returns when it exits.
    const follow = Bun.spawn([join(import.meta.dir, "../../bin/leopard"), "logs", "-f", "counter"], {
      env: (await import("./harness.ts")).ENV,
      stdout: "pipe",
    });
    await Bun.sleep(500);
    const t0 = Date.now();
    await ok(["stop", "-t", "1", "counter"]);
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(900); // sh as PID 1 ignores SIGTERM: SIGKILL came after -t 1
    const followed = await new Response(follow.stdout).text();
    expect(await follow.exited).toBe(0);
    const nums = followed
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => Number(l.split(" ")[1]));
    expect(nums.length).toBeGreaterThan(8);
    expect(nums.every((n, i) => n === i)).toBe(true);
    const s = await state("counter");
    expect(s.Status).toBe("exited");
    expect(s.ExitCode).toBe(137);
    await ok(["rm", "counter"]);
  });

  test("stop's signal is the image's or --stop-signal's, and a process that handles it exits cleanly", async () => {
    await ok([
      "run",
      "-d",
      ...NONE,
      "--name",
      "polite",
      "--stop-signal",
      "SIGUSR1",
      "busybox",
      "sh",
      "-c",
      "trap 'echo got usr1; exit 0' USR1; while true; do sleep 0.1; done",
    ]);
    await until("running", async () => (await state("polite")).Status === "running");
    await Bun.sleep(300);
    await ok(["stop", "-t", "20", "polite"]);
    expect((await state("polite")).ExitCode).toBe(0);
    expect(await ok(["logs", "polite"])).toBe("got usr1\n");
    await ok(["rm", "polite"]);
  });

  test("restart starts the container again; exec runs in it with its exit status", async () => {
    await ok(["run", "-d", ...NONE, "--name", "again", "busybox", "sh", "-c", "echo started; sleep 1000"]);
    const pid1 = (await state("again")).Pid;
    expect(pid1).toBeGreaterThan(0);
    expect(
      await ok(["exec", "again", "sh", "-c", "echo in $(hostname); cat /proc/1/cmdline | tr '\\0' ' '"]),
    ).toMatch(/^in [0-9a-f]{12}\nsleep 1000 $/); // busybox sh execs its last command
    expect((await leopard(["exec", "again", "sh", "-c", "exit 5"])).code).toBe(5);
    expect((await leopard(["exec", "again", "nosuch"])).code).toBe(127);
    expect(
      await ok([
        "exec",
        "-u",
        "nobody",
        "-w",
        "/tmp",
        "-e",
        "X=y",
        "again",
        "sh",
        "-c",
        "id -u; pwd; echo $X",
      ]),
    ).toBe("65534\n/tmp\ny\n");
    await ok(["restart", "-t", "0", "again"]);
    const s = await state("again");
    expect(s.Status).toBe("running");
    expect(s.Pid).not.toBe(pid1);
    await until("second start logged", async () => (await ok(["logs", "again"])) === "started\nstarted\n");
    await ok(["rm", "-f", "again"]);
    expect(leftovers()).toEqual([]);
  });

  test("cp copies into and out of a container and never through its symlinks to the host", async () => {
    const dir = tempDir("cp");
    writeFileSync(join(dir, "in.txt"), "from host\n");
    mkdirSync(join(dir, "tree/sub"), { recursive: true });
    writeFileSync(join(dir, "tree/sub/f"), "deep\n");
    await ok([
      "run",
      "-d",
      ...NONE,
      "--name",
      "cpbox",
      "busybox",
      "sh",
      "-c",
      "ln -s / /escape; ln -s /etc /tmp/etclink; sleep 1000",
    ]);
    await until(
      "links made",
      async () => (await leopard(["exec", "cpbox", "test", "-L", "/escape"])).code === 0,
    );
    await ok(["cp", join(dir, "in.txt"), "cpbox:/tmp/"]);
    await ok(["cp", join(dir, "tree"), "cpbox:/tree"]);
    expect(await ok(["exec", "cpbox", "cat", "/tmp/in.txt", "/tree/sub/f"])).toBe("from host\ndeep\n");
    await ok(["exec", "cpbox", "sh", "-c", "echo from container > /root.txt"]);
    await ok(["cp", "cpbox:/root.txt", join(dir, "out.txt")]);
    expect(readFileSync(join(dir, "out.txt"), "utf8")).toBe("from container\n");
    // The attacks: a link to "/" in the container resolves to the container's root, not the host's.
    await ok(["exec", "cpbox", "sh", "-c", "echo container passwd > /etc/passwd"]);
    await ok(["cp", "cpbox:/escape/etc/passwd", join(dir, "passwd")]);
    expect(readFileSync(join(dir, "passwd"), "utf8")).toBe("container passwd\n");
    await ok(["cp", join(dir, "in.txt"), "cpbox:/tmp/etclink/planted"]);
    expect(await ok(["exec", "cpbox", "cat", "/etc/planted"])).toBe("from host\n");
    expect(() => readFileSync("/etc/planted")).toThrow();
    const missing = await leopard(["cp", "cpbox:/nope", dir]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('"/nope"');
    await ok(["rm", "-f", "cpbox"]);
  });

  test("a named volume survives rm, is shared by two containers; a host directory binds read-only", async () => {
    const host = tempDir("vol");
    writeFileSync(join(host, "h.txt"), "host file\n");
    expect(
      await ok([
        "run",
        "--rm",
        ...NONE,
        "-v",
        "shared:/data",
        "busybox",
        "sh",
        "-c",
        "echo one > /data/f; cat /data/f",
      ]),
    ).toBe("one\n");
    expect(await ok(["volume", "ls", "-q"])).toContain("shared\n");
    await ok(["run", "-d", ...NONE, "--name", "v1", "-v", "shared:/data", "busybox", "sleep", "1000"]);
    await ok([
      "run",
      "-d",
      ...NONE,
      "--name",
      "v2",
      "-v",
      "shared:/data",
      "-v",
      `${host}:/h:ro`,
      "busybox",
      "sleep",
      "1000",
    ]);
    await ok(["exec", "v1", "sh", "-c", "echo two >> /data/f"]);
    expect(await ok(["exec", "v2", "cat", "/data/f", "/h/h.txt"])).toBe("one\ntwo\nhost file\n");
    const ro = await leopard(["exec", "v2", "touch", "/h/x"]);
    expect(ro.code).not.toBe(0);
    const inUse = await leopard(["volume", "rm", "shared"]);
    expect(inUse.code).toBe(1);
    expect(inUse.err).toContain("in use");
    await ok(["rm", "-f", "v1", "v2"]);
    expect(JSON.parse(await ok(["volume", "inspect", "shared"]))[0].Name).toBe("shared");
    await ok(["volume", "rm", "shared"]);
    expect(await ok(["volume", "ls", "-q"])).not.toContain("shared\n");
  });

  test("-d --rm: the container is removed by conmon's exit command once it exits", async () => {
    const id = (await ok(["run", "-d", "--rm", ...NONE, "busybox", "sh", "-c", "sleep 0.3"])).trim();
    await until("container removed", async () => !(await ok(["ps", "-aq", "--no-trunc"])).includes(id));
    await until("nothing left", () => leftovers().length === 0).catch((e) => {
      throw new Error(`${(e as Error).message}: ${leftovers().join(", ")}`);
    });
  });

  test("-d -i without -t keeps stdin open: attach feeds it, shows the output and returns the container's status", async () => {
    await ok(["run", "-d", "-i", "--name", "stdin1", ...NONE, "busybox", "sh"]);
    // Without -i, sh would read EOF at once and exit; with it, it waits for input.
    await Bun.sleep(500);
    expect((await state("stdin1")).Status).toBe("running");
    const r = await leopard(["attach", "stdin1"], { stdin: "echo from-stdin-$((6*7)); exit 4\n" });
    expect(r.out).toBe("from-stdin-42\n");
    expect(r.code).toBe(4);
    const s = await state("stdin1");
    expect(s.Status).toBe("exited");
    expect(s.ExitCode).toBe(4);
    expect(await ok(["logs", "stdin1"])).toBe("from-stdin-42\n");
    await ok(["rm", "stdin1"]);
  });

  test("pause and unpause freeze and thaw; ps --filter and --format json", async () => {
    await ok(["run", "-d", ...NONE, "--name", "frozen", "--label", "team=cats", "busybox", "sleep", "1000"]);
    await ok(["pause", "frozen"]);
    expect((await state("frozen")).Status).toBe("paused");
    const j = jsonLines<{ Names: string; State: string }>(
      await ok(["ps", "--filter", "label=team=cats", "--format", "json"]),
    );
    expect(j.map((x) => [x.Names, x.State])).toEqual([["frozen", "paused"]]);
    expect(await ok(["ps", "--filter", "label=team=dogs", "--format", "json"])).toBe("");
    await ok(["unpause", "frozen"]);
    expect((await state("frozen")).Status).toBe("running");
    expect(await ok(["top", "frozen"])).toContain("sleep 1000");
    await ok(["rm", "-f", "frozen"]);
    expect(leftovers()).toEqual([]);
  });
});
