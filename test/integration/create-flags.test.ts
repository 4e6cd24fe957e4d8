// create/run flags engines pass: --no-new-keyring, --preserve-fds and LISTEN_FDS.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bindDgram, recvDgram, sendDgram } from "../../src/sys/dgram.ts";
import { closeFd } from "../../src/sys/seqpacket.ts";
import { bundle, OCI, oci, readState, trackBundles, until } from "./harness.ts";

// Real containers (and engines) on a busy machine: well past bun's default 5 s a test.
setDefaultTimeout(30_000);

const use = trackBundles();

/** /proc/keys unmasked, so the container can list the keyrings it may view. */
const showKeys = (c: Record<string, unknown>) => {
  const linux = c["linux"] as Record<string, string[]>;
  linux["maskedPaths"] = (linux["maskedPaths"] ?? []).filter((p) => p !== "/proc/keys");
};

describe("create flags", () => {
  test("each container gets a session keyring of its own, named after it, unless --no-new-keyring", () => {
    const b = use(bundle({ userns: true, args: ["/bin/cat", "/proc/keys"], edit: showKeys }));
    const fresh = oci(b, ["run", "keyring-c1"]);
    expect(fresh.stderr).toBe("");
    expect(fresh.stdout).toMatch(/ keyring +keyring-c1: empty\n/);
    const kept = oci(b, ["run", "--no-new-keyring", "keyring-c2"]);
    expect(kept.code).toBe(0);
    expect(kept.stdout).not.toContain("keyring-c2");
  });

  test("--preserve-fds passes fds 3.. to the container", () => {
    const b = use(
      bundle({ args: ["/bin/sh", "-c", "cat /proc/self/fd/3 /proc/self/fd/4; ls /proc/self/fd"] }),
    );
    writeFileSync(join(b.dir, "a"), "A\n");
    writeFileSync(join(b.dir, "b"), "B\n");
    const cmd = `exec 3<${b.dir}/a 4<${b.dir}/b; exec ${OCI} --root ${b.root} run -b ${b.dir} --preserve-fds 2 c1`;
    const r = Bun.spawnSync(["sh", "-c", cmd], { env: process.env, stdout: "pipe", stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
    expect(r.stdout.toString()).toBe("A\nB\n0\n1\n2\n3\n4\n5\n"); // 5: ls's own directory
  });

  test("LISTEN_FDS for this process passes the fds on and tells the container, as runc does", () => {
    const b = use(bundle({ args: ["/bin/sh", "-c", 'echo "$LISTEN_FDS $LISTEN_PID"; cat /proc/self/fd/3'] }));
    writeFileSync(join(b.dir, "a"), "socket\n");
    const run = (pid: string) =>
      Bun.spawnSync(
        [
          "sh",
          "-c",
          `exec 3<${b.dir}/a; LISTEN_PID=${pid} LISTEN_FDS=1 exec ${OCI} --root ${b.root} run -b ${b.dir} c1`,
        ],
        { env: process.env, stdout: "pipe", stderr: "pipe" },
      );
    const r = run("$$");
    expect(r.stderr.toString()).toBe("");
    expect(r.stdout.toString()).toBe("1 1\nsocket\n");
    // Fds meant for another process stay out.
    const other = run("1");
    expect(other.stdout.toString()).toBe(" \n");
    expect(other.stderr.toString()).toContain("/proc/self/fd/3");
  });

  test("NOTIFY_SOCKET: the container gets a socket of its own; start relays its READY=1 with MAINPID", async () => {
    const b = use(
      bundle({
        args: [
          "/bin/sh",
          "-c",
          'echo "$NOTIFY_SOCKET" > /run/out; test -S "$NOTIFY_SOCKET" && echo socket >> /run/out; sleep 30',
        ],
        edit: (c) => {
          (c["mounts"] as unknown[]).push({
            destination: "/run",
            type: "tmpfs",
            source: "tmpfs",
            options: ["nosuid"],
          });
        },
      }),
    );
    const hostSocket = join(b.dir, "systemd", "notify");
    Bun.spawnSync(["mkdir", "-p", join(b.dir, "systemd")]);
    const listener = bindDgram(hostSocket);
    try {
      const env = { ...process.env, NOTIFY_SOCKET: hostSocket };
      const c = Bun.spawnSync([OCI, "--root", b.root, "create", "-b", b.dir, "c1"], { env, stderr: "pipe" });
      expect(c.stderr.toString()).toBe("");
      const pid = readState(b, "c1")["pid"] as number;
      const start = Bun.spawn([OCI, "--root", b.root, "start", "c1"], { env, stderr: "pipe" });
      // start waits for READY=1; here the host plays the container's sd_notify.
      const inner = join(b.root, "c1", "notify", "notify.sock");
      await until(() => existsSync(inner), 10_000, "the container's notify socket");
      await until(
        () =>
          existsSync(`/proc/${pid}/root/run/out`) &&
          readFileSync(`/proc/${pid}/root/run/out`, "utf8").includes("socket"),
      );
      expect(readFileSync(`/proc/${pid}/root/run/out`, "utf8")).toBe(
        `${join(b.dir, "systemd", "notify.sock")}\nsocket\n`, // the caller's directory, our socket
      );
      sendDgram(inner, new TextEncoder().encode("STATUS=starting\nREADY=1\n"));
      expect(await start.exited).toBe(0);
      const got = recvDgram(listener, 5000);
      expect(new TextDecoder().decode(got ?? new Uint8Array())).toBe(`READY=1\nMAINPID=${pid}\n`);
      expect(oci(b, ["delete", "--force", "c1"]).code).toBe(0);
    } finally {
      closeFd(listener);
    }
  });
});
