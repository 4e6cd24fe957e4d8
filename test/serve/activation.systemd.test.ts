// Socket activation by systemd, in the VM booted with systemd as init (`make test-cgroup-v2`'s
// --systemd boots; elsewhere these tests are skipped). leopard is installed into the guest's
// writable tmpfs (make install PREFIX=/tmp/…, the units in /run/systemd/system), the sockets
// are started, and podman runs containers through the installed leopard-oci with LEOPARD_SERVE=1,
// so a call that is not served fails. The first call starts leopard-oci.service; once idle for
// --idle-exit (a drop-in, as the README says to change it) the service exits, the socket stays,
// and the next call starts it again.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IMAGE, makePodmanEnv } from "../compat/podman-env.ts";
import { TOP, until } from "../integration/harness.ts";

// Under the VM's software emulation a podman run takes 10-30 s, a server's start several.
setDefaultTimeout(600_000);
const SYSTEMD = existsSync("/run/systemd/system");
const UNITS = "/run/systemd/system";
const prefix = mkdtempSync(join(tmpdir(), "leopard-prefix-"));

function run(argv: string[], env: Record<string, string | undefined> = process.env) {
  const r = Bun.spawnSync(argv, { env, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, out: r.stdout.toString().trim(), err: r.stderr.toString().trim() };
}

const systemctl = (...args: string[]) => run(["systemctl", ...args]);
const active = (unit: string) => systemctl("is-active", unit).out;

function make(target: string) {
  const r = run(["make", "-s", "-C", TOP, target, `PREFIX=${prefix}`, `SYSTEMD_UNIT_DIR=${UNITS}`]);
  if (r.code !== 0) throw new Error(`make ${target} failed: ${r.err}`);
}

afterAll(() => {
  if (!SYSTEMD) {
    rmSync(prefix, { recursive: true, force: true });
    return;
  }
  systemctl("stop", "leopard-oci.socket", "leopard-oci.service", "leopard.socket", "leopard.service");
  rmSync(join(UNITS, "leopard-oci.service.d"), { recursive: true, force: true });
  make("uninstall");
  systemctl("daemon-reload");
  rmSync(prefix, { recursive: true, force: true });
});

describe.skipIf(!SYSTEMD)("socket activation with systemd as init", () => {
  test("the first podman run is served by the service its call started; idle, the service exits; the next call starts it again", async () => {
    make("install");
    mkdirSync(join(UNITS, "leopard-oci.service.d"));
    writeFileSync(
      join(UNITS, "leopard-oci.service.d/idle.conf"),
      `[Service]\nExecStart=\nExecStart=${prefix}/bin/leopard-oci serve --idle-exit 5\n`,
    );
    expect(systemctl("daemon-reload").code).toBe(0);
    expect(systemctl("start", "leopard-oci.socket", "leopard.socket")).toMatchObject({ code: 0, err: "" });
    expect(active("leopard-oci.service")).toBe("inactive");
    // podman passes no LEOPARD_* on: a wrapper that makes an unserved call fail.
    const runtime = join(prefix, "served-leopard-oci");
    writeFileSync(
      runtime,
      `#!/bin/sh\nLEOPARD_SERVE=1 LEOPARD_SERVE_WAIT_MS=300000 exec ${prefix}/bin/leopard-oci "$@"\n`,
    );
    chmodSync(runtime, 0o755);
    const penv = makePodmanEnv({ cgroupParent: `/leopard-activation-${process.pid}`, storageDriver: "vfs" });
    try {
      expect(penv.podman(runtime, ["run", "--rm", IMAGE, "echo", "first"])).toMatchObject({
        code: 0,
        stdout: "first\n",
      });
      expect(active("leopard-oci.service")).toBe("active");
      await until(() => active("leopard-oci.service") === "inactive", 300_000, "the idle exit");
      expect(active("leopard-oci.socket")).toBe("active");
      expect(systemctl("show", "-P", "Result", "leopard-oci.service").out).toBe("success");
      expect(penv.podman(runtime, ["run", "--rm", IMAGE, "echo", "again"])).toMatchObject({
        code: 0,
        stdout: "again\n",
      });
      expect(active("leopard-oci.service")).toBe("active");
    } finally {
      const { mounts } = penv.cleanup([runtime]);
      expect(mounts).toEqual([]);
    }
    // The engine's socket too.
    const version = run([join(prefix, "bin/leopard"), "version"], {
      ...process.env,
      LEOPARD_SERVE: "1",
      LEOPARD_SERVE_WAIT_MS: "300000",
    });
    expect(version).toMatchObject({ code: 0, err: "" });
    expect(active("leopard.service")).toBe("active");
  });
});
