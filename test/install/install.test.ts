// `make install` puts a self-contained, relocatable tree in place and `make uninstall` removes
// exactly that. Staged with DESTDIR under a temp dir (never the real /usr/local), then moved
// elsewhere and run in a mount namespace where this checkout is hidden under an empty tmpfs:
// whatever works there reads nothing from the checkout.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { defaultSpec } from "../../src/config/defaults.ts";
import { rootfs, TOP } from "../integration/harness.ts";

type Json = Record<string, unknown>;

setDefaultTimeout(180_000);
const base = mkdtempSync(join(tmpdir(), "leopard-install-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** Every file (not directory) under dir, relative to it, sorted. */
function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(relative(dir, join(d, e.name)));
    }
  };
  walk(dir);
  return out.sort();
}

function make(target: string, destdir: string, prefix = "/usr/local") {
  const r = Bun.spawnSync(["make", "-s", "-C", TOP, target, `DESTDIR=${destdir}`, `PREFIX=${prefix}`], {
    env: process.env,
    stdout: "pipe",
    stderr: "pipe",
  });
  if (r.exitCode !== 0) throw new Error(`make ${target} failed: ${r.stderr.toString()}`);
}

const INSTALLED = [
  "usr/local/bin/leopard",
  "usr/local/bin/leopard-oci",
  "usr/local/lib/leopard/bun",
  "usr/local/lib/leopard/cgroup-ops.js",
  "usr/local/lib/leopard/cgroup-ops.js.jsc",
  "usr/local/lib/leopard/leopard-helper",
  "usr/local/lib/leopard/leopard-keeper",
  "usr/local/lib/leopard/leopard-oci-life.js",
  "usr/local/lib/leopard/leopard-oci-life.js.jsc",
  "usr/local/lib/leopard/leopard-oci-light.js",
  "usr/local/lib/leopard/leopard-oci-light.js.jsc",
  "usr/local/lib/leopard/leopard-sys.node",
  "usr/local/lib/leopard/leopard-oci.js",
  "usr/local/lib/leopard/leopard-oci.js.jsc",
  "usr/local/lib/leopard/leopard.js",
  "usr/local/lib/leopard/leopard.js.jsc",
  "usr/local/lib/leopard/share/seccomp/default.json",
  "usr/local/lib/leopard/unpack-worker.js",
  "usr/local/lib/systemd/system/leopard-oci.service",
  "usr/local/lib/systemd/system/leopard-oci.socket",
  "usr/local/lib/systemd/system/leopard.service",
  "usr/local/lib/systemd/system/leopard.socket",
  "usr/local/lib/systemd/user/leopard-oci.service",
  "usr/local/lib/systemd/user/leopard-oci.socket",
  "usr/local/lib/systemd/user/leopard.service",
  "usr/local/lib/systemd/user/leopard.socket",
];

/**
 * Runs a shell script in a new mount namespace where the checkout is an empty tmpfs; the busybox
 * root filesystem (built in the checkout) is bound at <base>/rootfs first.
 */
function hidden(script: string) {
  const rootfsAt = join(base, "rootfs");
  mkdirSync(rootfsAt, { recursive: true });
  const r = Bun.spawnSync(
    [
      "unshare",
      "-m",
      "--propagation",
      "private",
      "sh",
      "-ec",
      `mount --bind ${rootfs(0)} ${rootfsAt}; mount -t tmpfs -o ro tmpfs ${TOP}; ${script}`,
    ],
    {
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LEOPARD_SERVE: "0" },
      cwd: base,
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe("make install", () => {
  test("installs the launchers, Bun, the bundles, the helper, the seccomp profile and the units, and uninstall removes exactly those", () => {
    const dest = join(base, "stage");
    mkdirSync(join(dest, "usr/local/bin"), { recursive: true });
    writeFileSync(join(dest, "usr/local/bin/someone-elses"), "");
    make("install", dest);
    expect(files(dest)).toEqual([...INSTALLED, "usr/local/bin/someone-elses"].sort());
    const unit = readFileSync(join(dest, "usr/local/lib/systemd/system/leopard-oci.service"), "utf8");
    expect(unit).toContain("ExecStart=/usr/local/bin/leopard-oci serve\n");
    const socket = readFileSync(join(dest, "usr/local/lib/systemd/system/leopard-oci.socket"), "utf8");
    expect(socket).toContain("ListenSequentialPacket=/run/leopard-serve/leopard-oci.sock\n");
    expect(socket).toContain("SocketMode=0600\n");
    expect(socket).toContain("DirectoryMode=0700\n");
    // The user manager's units: the socket in the user's runtime directory (%t).
    const user = (name: string) => readFileSync(join(dest, "usr/local/lib/systemd/user", name), "utf8");
    expect(user("leopard-oci.service")).toContain("ExecStart=/usr/local/bin/leopard-oci serve\n");
    expect(user("leopard.service")).toContain("ExecStart=/usr/local/bin/leopard serve\n");
    for (const name of ["leopard-oci", "leopard"]) {
      const s = user(`${name}.socket`);
      expect(s).toContain(`ListenSequentialPacket=%t/leopard-serve/${name}.sock\n`);
      expect(s).toContain("SocketMode=0600\n");
      expect(s).toContain("DirectoryMode=0700\n");
      expect(user(`${name}.service`)).toContain("KillMode=mixed\n");
    }
    make("uninstall", dest);
    expect(files(dest)).toEqual(["usr/local/bin/someone-elses"]);
  });

  test("the installed tree, moved elsewhere, runs containers with the checkout hidden", () => {
    const dest = join(base, "moved");
    make("install", join(base, "stage2"), "/opt/leopard");
    mkdirSync(dest);
    renameSync(join(base, "stage2/opt/leopard"), join(dest, "prefix"));
    const prefix = join(dest, "prefix");
    const bundleDir = join(base, "bundle");
    mkdirSync(bundleDir);
    // A config like runc spec's for the rootfs bound at <base>/rootfs.
    const spec = defaultSpec({ args: ["/bin/echo", "hello from the installed tree"] }) as unknown as Json;
    (spec["process"] as Json)["terminal"] = false;
    spec["root"] = { path: join(base, "rootfs"), readonly: true };
    (spec["linux"] as Json)["cgroupsPath"] = `/leopard-test/install-${process.pid}`;
    writeFileSync(join(bundleDir, "config.json"), JSON.stringify(spec));
    const oci = join(prefix, "bin/leopard-oci");
    const r = hidden(
      [
        `test ! -e ${TOP}/Makefile`,
        `cd ${bundleDir}`,
        `${oci} --root ${base}/state run -b ${bundleDir} c1`,
        `${oci} --root ${base}/state create -b ${bundleDir} c2`,
        `${oci} --root ${base}/state state c2 | grep -q '"status": "created"'`,
        `${oci} --root ${base}/state list -q`,
        // kill --all loads cgroup-ops.js, beside the light bundle in lib/leopard.
        `${oci} --root ${base}/state kill --all c2 KILL`,
        `${oci} --root ${base}/state delete --force c2`,
        `${join(prefix, "bin/leopard")} version | head -1`,
        `rmdir /sys/fs/cgroup/leopard-test/install-${process.pid} 2>/dev/null || true`,
      ].join("\n"),
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("hello from the installed tree\nc2\nVersion:  0.1.0\n");
    expect(r.code).toBe(0);
  });
});
