// Attack: a uid-0 process that was stripped of its privileges (an empty bounding set and
// no_new_privs, as `setpriv --bounding-set=-all --no-new-privs` or a systemd unit with
// `CapabilityBoundingSet=` leaves it) calls bin/leopard-oci so that a warm worker of `serve`,
// which holds every capability, does the work for it. Defence: a worker serves only a caller
// whose capability sets, securebits, no_new_privs, seccomp mode and LSM label are its own; any
// other is declined, and the launcher then runs Bun itself with the caller's credentials.
//
// The probe: `spec -b DIR` writes DIR/config.json, where DIR belongs to another user with mode
// 0700. Only CAP_DAC_OVERRIDE lets uid 0 write there, so the file appears only when a process
// with more than the caller's capabilities did the work.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chownSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OCI, type Server, startServer } from "./serve-harness.ts";

setDefaultTimeout(60_000);
let server: Server;

beforeAll(async () => {
  server = await startServer("leopard-oci");
});

afterAll(async () => {
  await server.stop();
});

/** A directory only its owner (uid 1000) may write: mode 0700. */
function foreignDir(): string {
  const d = mkdtempSync(join(tmpdir(), "leopard-foreign-"));
  chownSync(d, 1000, 1000);
  return d;
}

function spec(prefix: string[], env: Record<string, string | undefined>) {
  const dir = foreignDir();
  const r = Bun.spawnSync([...prefix, OCI, "spec", "-b", dir], { env, stdout: "pipe", stderr: "pipe" });
  const written = readdirSync(dir);
  rmSync(dir, { recursive: true, force: true });
  return { code: r.exitCode, stderr: r.stderr.toString(), written };
}

const STRIPPED = ["setpriv", "--bounding-set=-all", "--no-new-privs"];
/** The server runs with the test's own capabilities. */
const OURS = /^CapEff:\s*(\S+)$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];

describe("serve-capability-dropped-caller", () => {
  test("a caller with every capability is served, and the served work writes where only CAP_DAC_OVERRIDE may", () => {
    expect(spec([], server.served())).toEqual({ code: 0, stderr: "", written: ["config.json"] });
  });

  test("a caller with an empty bounding set and no_new_privs is declined for its capabilities", () => {
    const r = spec(STRIPPED, server.served());
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `leopard-oci: not served (LEOPARD_SERVE=1): the worker declined: the caller's effective capabilities are "0000000000000000", not the worker's "${OURS}"\n`,
    );
    expect(r.written).toEqual([]);
  });

  test("without LEOPARD_SERVE=1 the same caller runs unserved, with its own capabilities: it cannot write there", () => {
    const r = spec(STRIPPED, server.served({ LEOPARD_SERVE: undefined }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("EACCES: permission denied");
    expect(r.written).toEqual([]);
  });

  test("no_new_privs alone (every capability kept) is declined", () => {
    const r = spec(["setpriv", "--no-new-privs"], server.served());
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`declined: the caller's no_new_privs is "1", not the worker's "0"`);
    expect(r.written).toEqual([]);
  });

  test("other securebits alone (every capability kept) are declined", () => {
    const r = spec(["setpriv", "--securebits", "+no_setuid_fixup"], server.served());
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("declined: the caller's securebits are 0x4, not the worker's 0x0");
    expect(r.written).toEqual([]);
  });
});
