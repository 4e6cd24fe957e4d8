// exec as engines and people call it: inline flags, --process FILE, --detach with a pid file.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bundle, done, OCI, oci, readState, runningC1, trackBundles, until } from "./harness.ts";

// Real containers (and engines) on a busy machine: well past bun's default 5 s a test.
setDefaultTimeout(30_000);

const use = trackBundles();

const running = (opts: Parameters<typeof bundle>[0] = {}) => runningC1(use, opts);

describe("exec", () => {
  test("the process joins every namespace of the container and is a child in its PID namespace", () => {
    const { b, pid } = running({ userns: true });
    const r = oci(b, [
      "exec",
      "c1",
      "sh",
      "-c",
      "for n in user mnt pid net ipc uts; do readlink /proc/self/ns/$n; done; echo pid=$$; hostname",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    const want = ["user", "mnt", "pid", "net", "ipc", "uts"].map((n) => readlinkSync(`/proc/${pid}/ns/${n}`));
    expect(lines.slice(0, 6)).toEqual(want);
    expect(Number(lines[6]?.slice(4))).toBeGreaterThan(1);
    expect(lines[7]).toBe("leopard");
    done(b);
  });

  test("the exit status of the process is exec's; flags after the command belong to the command", () => {
    const { b } = running();
    expect(oci(b, ["exec", "c1", "sh", "-c", "exit 7"]).code).toBe(7);
    expect(oci(b, ["exec", "c1", "ls", "-d", "/tmp"]).stdout).toBe("/tmp\n");
    // This host has no AppArmor: a profile is refused, as at create.
    expect(oci(b, ["exec", "--apparmor", "p1", "c1", "true"]).stderr).toBe(
      'leopard-oci: exec c1: process.apparmorProfile "p1" is set but AppArmor is not enabled on this host\n',
    );
    const missing = oci(b, ["exec", "c1", "no-such-command"]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toBe(
      'leopard-oci: exec c1: exec "no-such-command": executable file not found in $PATH\n',
    );
    done(b);
  });

  test("--user, --additional-gids, --cwd and --env set the process up; the container's env stays", () => {
    const { b } = running({ userns: true });
    const r = oci(b, [
      "exec",
      "-u",
      "1000:1000",
      "-g",
      "10",
      "--cwd",
      "/tmp",
      "-e",
      "FOO=bar",
      "-e",
      "TERM=dumb",
      "c1",
      "sh",
      "-c",
      'id -u; id -g; id -G; pwd; echo "$FOO $TERM"; echo "$PATH"',
    ]);
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n").slice(0, 6)).toEqual([
      "1000",
      "1000",
      "1000 10",
      "/tmp",
      "bar dumb",
      "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ]);
    done(b);
  });

  test("--process FILE runs the process as written", () => {
    const { b } = running();
    const file = join(b.dir, "process.json");
    writeFileSync(
      file,
      JSON.stringify({
        user: { uid: 5, gid: 6 },
        args: ["/bin/sh", "-c", "echo $A; id -u; id -g; pwd"],
        env: ["A=from-file", "PATH=/bin"],
        cwd: "/etc",
      }),
    );
    const r = oci(b, ["exec", "--process", file, "c1"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("from-file\n5\n6\n/etc\n");
    done(b);
  });

  test("CVE-2022-29162: --cap adds effective, permitted and bounding capabilities but never inheritable ones", () => {
    const { b } = running({ userns: true });
    const r = oci(b, ["exec", "--cap", "CAP_SYS_ADMIN", "c1", "grep", "^Cap", "/proc/self/status"]);
    expect(r.stderr).toBe("");
    const caps = Object.fromEntries(
      r.stdout
        .trim()
        .split("\n")
        .map((l) => l.split(":\t"))
        .map(([k, v]) => [k, BigInt(`0x${v}`)]),
    );
    const sysAdmin = 1n << 21n;
    expect(caps["CapEff"] & sysAdmin).toBe(sysAdmin);
    expect(caps["CapPrm"] & sysAdmin).toBe(sysAdmin);
    expect(caps["CapBnd"] & sysAdmin).toBe(sysAdmin);
    expect(caps["CapInh"]).toBe(0n);
    expect(caps["CapAmb"]).toBe(0n);
    done(b);
  });

  test("--detach returns at once with the pid file written; the process runs in the container", async () => {
    const { b, pid } = running();
    const pidFile = join(b.dir, "exec.pid");
    const started = Date.now();
    const r = oci(b, ["exec", "-d", "--pid-file", pidFile, "c1", "sleep", "30"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    const text = readFileSync(pidFile, "utf8");
    expect(text).toMatch(/^\d+$/);
    const child = Number(text);
    expect(readFileSync(`/proc/${child}/cmdline`, "utf8")).toBe("sleep\x0030\x00");
    expect(readlinkSync(`/proc/${child}/ns/pid`)).toBe(readlinkSync(`/proc/${pid}/ns/pid`));
    done(b);
    await until(
      () => !existsSync(`/proc/${child}/cmdline`) || readFileSync(`/proc/${child}/cmdline`).length === 0,
    );
  });

  test("--preserve-fds passes the caller's fds 3.. to the process", () => {
    const { b } = running();
    const file = join(b.dir, "in.txt");
    writeFileSync(file, "preserved\n");
    // The shell opens fd 3 and leopard-oci passes it on.
    const r = Bun.spawnSync(
      ["sh", "-c", `exec 3<${file}; ${OCI} --root ${b.root} exec --preserve-fds 1 c1 cat /proc/self/fd/3`],
      { stdout: "pipe", stderr: "pipe" },
    );
    expect(r.stderr.toString()).toBe("");
    expect(r.stdout.toString()).toBe("preserved\n");
    done(b);
  });

  test("no fd of the runtime reaches the process", () => {
    const { b } = running();
    const r = oci(b, ["exec", "c1", "ls", "/proc/self/fd"]);
    expect(r.stdout.trim().split("\n").sort()).toEqual(["0", "1", "2", "3"]); // 3: ls's own directory
    done(b);
  });

  test("--tty relays a pty to a foreground exec", () => {
    const { b } = running();
    const cmd = `stty rows 21 cols 81; ${OCI} --root ${b.root} exec -t c1 sh -c 'tty; stty size'; echo "exit=$?"`;
    const r = Bun.spawnSync(["script", "-qec", cmd, "/dev/null"], {
      stdin: "ignore",
      stdout: "pipe",
      env: process.env,
    });
    // script(1) may echo a ^@ of its own when its stdin ends; it is not the container's output.
    const out = r.stdout.toString().replaceAll("\r", "").replaceAll("^@", "");
    expect(out).toMatch(/\/dev\/pts\/\d+\n21 81\n/);
    expect(out).toContain("exit=0");
    done(b);
  });

  test("exec into a paused container fails unless --ignore-paused", async () => {
    const { b } = running();
    expect(oci(b, ["pause", "c1"]).code).toBe(0);
    const r = oci(b, ["exec", "c1", "true"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "leopard-oci: exec c1: cannot exec in a paused container (use --ignore-paused to override)\n",
    );
    // With --ignore-paused the helper joins the frozen cgroup, so the process starts on resume.
    const late = Bun.spawn([OCI, "--root", b.root, "exec", "--ignore-paused", "c1", "echo", "after"], {
      stdout: "pipe",
      stderr: "pipe",
    });
    await Bun.sleep(300);
    expect(late.exitCode).toBe(null);
    expect(oci(b, ["resume", "c1"]).code).toBe(0);
    expect(await late.exited).toBe(0);
    expect(await new Response(late.stdout).text()).toBe("after\n");
    done(b);
  });

  test("exec into a stopped container fails with runc's wording", async () => {
    const b = use(bundle({ args: ["/bin/true"] }));
    expect(oci(b, ["run", "-d", "c1"]).code).toBe(0);
    await until(() => readState(b, "c1")["status"] === "stopped");
    const r = oci(b, ["exec", "c1", "true"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("leopard-oci: exec c1: cannot exec in a stopped container\n");
    expect(oci(b, ["exec", "nope", "true"]).stderr).toBe(
      'leopard-oci: exec nope: container "nope" does not exist\n',
    );
    done(b);
  });
});
