// `leopard run` with docker's habits: the seed scenario, exit codes, flags, errors that leave
// nothing behind. Containers here use --network none (networking has its own tests).
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { jsonLines, leftovers, leopard, ok, removeAll, STORAGE, tempDir } from "./harness.ts";

setDefaultTimeout(60_000);
const NONE = ["--network", "none"];

afterAll(removeAll);

describe("leopard run", () => {
  test("the seed scenario: hostname, own pid namespace, private /tmp, exit status", async () => {
    const out = await ok([
      "run",
      "--rm",
      ...NONE,
      "--hostname",
      "leopard",
      "busybox",
      "sh",
      "-c",
      "hostname; echo $$; ls /tmp | wc -l",
    ]);
    expect(out).toBe("leopard\n1\n0\n");
    expect((await leopard(["run", "--rm", ...NONE, "busybox", "sh", "-c", "exit 3"])).code).toBe(3);
    expect(leftovers()).toEqual([]);
  });

  test("the default hostname is the id's first 12 characters; /etc/hosts names it", async () => {
    const id = (
      await ok(["create", ...NONE, "busybox", "sh", "-c", 'hostname; grep -c "$(hostname)" /etc/hosts'])
    ).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    await ok(["start", id]);
    expect(await ok(["wait", id])).toBe("0\n");
    expect(await ok(["logs", id])).toBe(`${id.slice(0, 12)}\n1\n`);
    await ok(["rm", id]);
  });

  test("env, -e KEY from the caller, --env-file, -w, -u, --entrypoint", async () => {
    const dir = tempDir("env");
    await Bun.write(join(dir, "env"), "# comment\nFROM_FILE=yes\n\n");
    const r = await leopard([
      "run",
      "--rm",
      ...NONE,
      "-e",
      "A=1",
      "-e",
      "HOME",
      "--env-file",
      join(dir, "env"),
      "-w",
      "/tmp",
      "-u",
      "1000:1000",
      "busybox",
      "sh",
      "-c",
      "echo $A $FROM_FILE $HOME; pwd; id -u; id -g",
    ]);
    expect(r.err).toBe("");
    expect(r.out).toBe(`1 yes ${process.env["HOME"]}\n/tmp\n1000\n1000\n`);
    expect(await ok(["run", "--rm", ...NONE, "--entrypoint", "echo", "busybox", "from", "entrypoint"])).toBe(
      "from entrypoint\n",
    );
  });

  test("a user name resolves in the container's /etc/passwd; an unknown one is an error", async () => {
    expect(await ok(["run", "--rm", ...NONE, "-u", "nobody", "busybox", "id", "-u"])).toBe("65534\n");
    const r = await leopard(["run", "--rm", ...NONE, "-u", "nosuchuser", "busybox", "true"]);
    expect(r.code).toBe(125);
    expect(r.err).toContain("unable to find user nosuchuser");
    expect(leftovers()).toEqual([]);
  });

  test("docker's exit codes: 127 not found, 126 not executable, 125 engine errors; nothing left", async () => {
    const before = (await ok(["ps", "-aq"])).trim();
    const missing = await leopard(["run", "--rm", ...NONE, "busybox", "nosuchcommand"]);
    expect(missing.code).toBe(127);
    expect(missing.err).toContain('"nosuchcommand": executable file not found in $PATH');
    const notExec = await leopard(["run", "--rm", ...NONE, "busybox", "/etc/passwd"]);
    expect(notExec.code).toBe(126);
    const noImage = await leopard(["run", "--rm", ...NONE, "--pull", "never", "no-such-image", "true"]);
    expect(noImage.code).toBe(125);
    expect(noImage.err).toContain('image "no-such-image"');
    const badVol = await leopard(["run", "--rm", ...NONE, "-v", "/no/such/dir:/x", "busybox", "true"]);
    expect(badVol.code).toBe(125);
    expect(badVol.err).toContain("bind source path does not exist: /no/such/dir");
    const badFlag = await leopard(["run", "--memory", "lots", "busybox", "true"]);
    expect(badFlag.code).toBe(125);
    expect(badFlag.err).toContain('--memory "lots"');
    expect((await ok(["ps", "-aq"])).trim()).toBe(before);
    expect(leftovers()).toEqual([]);
  });

  test("a name in use is refused and the first container is untouched", async () => {
    await ok(["create", ...NONE, "--name", "twin", "busybox", "true"]);
    const r = await leopard(["run", "--rm", ...NONE, "--name", "twin", "busybox", "true"]);
    expect(r.code).toBe(125);
    expect(r.err).toContain('the container name "twin" is already in use');
    expect(readdirSync(join(STORAGE, "containers")).length).toBe(1);
    await ok(["rm", "twin"]);
    expect(leftovers()).toEqual([]);
  });

  test("--read-only root with a writable --tmpfs /run", async () => {
    const r = await leopard([
      "run",
      "--rm",
      ...NONE,
      "--read-only",
      "--tmpfs",
      "/run",
      "busybox",
      "sh",
      "-c",
      "touch /run/ok && echo run-ok; touch /x",
    ]);
    expect(r.out).toBe("run-ok\n");
    expect(r.err).toContain("Read-only file system");
    expect(r.code).toBe(1);
  });

  test("--memory and --pids-limit reach the container's cgroup", async () => {
    const out = await ok([
      "run",
      "--rm",
      ...NONE,
      "--memory",
      "64m",
      "--pids-limit",
      "50",
      "busybox",
      "sh",
      "-c",
      "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max",
    ]);
    expect(out).toBe(`${64 * 1024 * 1024}\n50\n`);
  });

  test("docker's default capabilities and seccomp; --cap-drop, --privileged", async () => {
    const capEff = async (...flags: string[]) =>
      (await ok(["run", "--rm", ...NONE, ...flags, "busybox", "sh", "-c", "grep CapEff /proc/self/status"]))
        .trim()
        .split(/\s+/)[1];
    expect(await capEff()).toBe("00000000a80425fb");
    expect(await capEff("--cap-drop", "NET_RAW")).toBe("00000000a80405fb");
    expect(BigInt(`0x${await capEff("--privileged")}`) > 0xa80425fbn).toBe(true);
    expect(await ok(["run", "--rm", ...NONE, "busybox", "sh", "-c", "grep Seccomp: /proc/self/status"])).toBe(
      "Seccomp:\t2\n",
    );
    expect(
      await ok([
        "run",
        "--rm",
        ...NONE,
        "--security-opt",
        "seccomp=unconfined",
        "busybox",
        "sh",
        "-c",
        "grep Seccomp: /proc/self/status",
      ]),
    ).toBe("Seccomp:\t0\n");
    // Masked as in docker.
    expect(await ok(["run", "--rm", ...NONE, "busybox", "sh", "-c", "wc -c < /proc/keys"])).toBe("0\n");
  });

  test("--ulimit, --sysctl, --dns, --add-host, --device, --cpus, --cpu-shares reach the container", async () => {
    const out = await ok([
      "run",
      "--rm",
      ...NONE,
      "--ulimit",
      "nofile=321:654",
      "--sysctl",
      "net.ipv4.ip_forward=1",
      "--dns",
      "192.0.2.53",
      "--add-host",
      "db:192.0.2.7",
      "--device",
      "/dev/null:/dev/mynull:rw",
      "--cpus",
      "0.5",
      "--cpu-shares",
      "512",
      "busybox",
      "sh",
      "-c",
      "ulimit -n; ulimit -Hn; cat /proc/sys/net/ipv4/ip_forward; cat /etc/resolv.conf; grep -w db /etc/hosts; echo x > /dev/mynull && echo dev-ok; cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.shares 2>/dev/null || cat /sys/fs/cgroup/cpu.max /sys/fs/cgroup/cpu.weight",
    ]);
    // cgroup v1: quota and shares; v2: cpu.max and the weight 512 shares convert to.
    const cpu = existsSync("/sys/fs/cgroup/cpu/cpu.shares") ? "50000\n512\n" : "50000 100000\n20\n";
    expect(out).toBe(`321\n654\n1\nnameserver 192.0.2.53\n192.0.2.7\tdb\ndev-ok\n${cpu}`);
  });

  test("--init runs a reaper as PID 1", async () => {
    expect(
      await ok(["run", "--rm", ...NONE, "--init", "busybox", "sh", "-c", "cat /proc/1/comm; echo $$"]),
    ).not.toStartWith("sh\n");
    const out = await ok([
      "run",
      "--rm",
      ...NONE,
      "--init",
      "busybox",
      "sh",
      "-c",
      "cat /proc/1/cmdline | tr '\\0' ' '",
    ]);
    expect(out).toStartWith("/run/leopard-init -- sh");
  });

  test("--rm leaves no container; without it the container stays, exited", async () => {
    const id = (await ok(["create", ...NONE, "busybox", "sh", "-c", "exit 7"])).trim();
    expect(await ok(["ps", "-a", "--filter", `id=${id}`, "--format", "json"])).toContain('"State":"created"');
    await ok(["start", id]);
    expect(await ok(["wait", id])).toBe("7\n");
    const ps = jsonLines<{ State: string; Status: string }>(
      await ok(["ps", "-a", "--filter", `id=${id}`, "--format", "json"]),
    );
    expect(ps.length).toBe(1);
    expect(ps[0]?.State).toBe("exited");
    expect(ps[0]?.Status).toStartWith("Exited (7)");
    await ok(["rm", id]);
    expect(existsSync(join(STORAGE, "containers", id))).toBe(false);
  });

  test("stdin reaches the container only with -i, so a `while read` loop keeps its input", async () => {
    expect((await leopard(["run", "--rm", ...NONE, "busybox", "cat"], { stdin: "x\n" })).out).toBe("");
    expect((await leopard(["run", "--rm", "-i", ...NONE, "busybox", "cat"], { stdin: "x\n" })).out).toBe(
      "x\n",
    );
  });

  test("a container run in the foreground is logged as docker's are; start -a shows its next run", async () => {
    const r = await leopard([
      "run",
      "--name",
      "fglog",
      ...NONE,
      "busybox",
      "sh",
      "-c",
      "echo out; echo err >&2; exit 3",
    ]);
    expect([r.code, r.out, r.err]).toEqual([3, "out\n", "err\n"]);
    const l = await leopard(["logs", "fglog"]);
    expect([l.out, l.err]).toEqual(["out\n", "err\n"]);
    expect((await leopard(["logs", "-t", "fglog"])).out).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z out\n$/,
    );
    const a = await leopard(["start", "-a", "fglog"]);
    expect([a.code, a.out]).toEqual([3, "out\n"]);
    await ok(["rm", "fglog"]);
  });

  test("-w makes a missing working directory; an unknown flag is docker's 125 with its words", async () => {
    expect(await ok(["run", "--rm", ...NONE, "-w", "/new/dir", "busybox", "pwd"])).toBe("/new/dir\n");
    const r = await leopard(["run", "--bogus", "busybox"]);
    expect([r.code, r.err]).toEqual([125, "unknown flag: --bogus\nSee 'leopard run --help'.\n"]);
  });
});
