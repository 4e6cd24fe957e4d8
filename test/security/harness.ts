// The escape-attempt suite's harness: containers with the hardened config (`spec --hardened`:
// the default seccomp profile, docker's capabilities, no_new_privs, masked and read-only paths),
// a static probe program mounted read-only at /mnt (a directory the image has, so nothing is
// created in the shared root filesystem), and a snapshot of host state to prove an
// attempt changed nothing.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { defaultSpec } from "../../src/config/defaults.ts";
import { DEFAULT_CAPABILITIES, defaultSeccompJson } from "../../src/seccomp/default-profile.ts";
import { type Bundle, bundle, oci, type Result, TOP, trackBundles } from "../integration/harness.ts";

export { bundle, oci, TOP, trackBundles };
export type { Bundle, Result };
type Json = Record<string, unknown>;

export const HELPER = join(TOP, "native/build/leopard-helper");
const PROBE_SRC = join(TOP, "test/security/probe.c");
const PROBE_DIR = join(TOP, "build/security");
const PROBE = join(PROBE_DIR, "probe");

/** Builds the probe (static, so it runs in the busybox root) when missing or older than its source. */
export function probeDir(): string {
  if (!existsSync(PROBE) || statSync(PROBE).mtimeMs < statSync(PROBE_SRC).mtimeMs) {
    mkdirSync(PROBE_DIR, { recursive: true });
    const r = Bun.spawnSync(["cc", "-static", "-O1", "-Wall", "-o", `${PROBE}.tmp`, PROBE_SRC], {
      stderr: "pipe",
    });
    if (r.exitCode !== 0) throw new Error(`building the probe failed: ${r.stderr.toString()}`);
    Bun.spawnSync(["mv", `${PROBE}.tmp`, PROBE]);
  }
  return PROBE_DIR;
}

/** The hardened parts of `leopard-oci spec --hardened`, applied to a config. */
export function harden(c: Json): void {
  const hardened = defaultSpec({
    hardened: { seccomp: defaultSeccompJson() as never, capabilities: DEFAULT_CAPABILITIES },
  });
  const p = c["process"] as Json;
  p["capabilities"] = hardened.process?.capabilities;
  p["noNewPrivileges"] = true;
  const linux = c["linux"] as Json;
  linux["seccomp"] = hardened.linux?.seccomp;
  linux["maskedPaths"] = hardened.linux?.maskedPaths;
  linux["readonlyPaths"] = hardened.linux?.readonlyPaths;
}

/** A hardened container running `args`, with the probe at /mnt/probe. */
export function hardenedBundle(opts: { args: string[]; edit?: (c: Json) => void }): Bundle {
  const dir = probeDir();
  return bundle({
    args: opts.args,
    edit: (c) => {
      harden(c);
      (c["mounts"] as Json[]).push({
        destination: "/mnt",
        type: "bind",
        source: dir,
        options: ["rbind", "ro", "nosuid", "nodev"],
      });
      opts.edit?.(c);
    },
  });
}

/** Runs one probe step in a fresh hardened container; stdout as { step: result }. */
export function probe(
  use: (b: Bundle) => Bundle,
  args: string[],
  edit?: (c: Json) => void,
): { result: Record<string, string>; raw: Result } {
  const b = use(
    hardenedBundle(edit ? { args: ["/mnt/probe", ...args], edit } : { args: ["/mnt/probe", ...args] }),
  );
  const raw = oci(b, ["run", "c1"]);
  const result: Record<string, string> = {};
  for (const line of raw.stdout.split("\n")) {
    const i = line.indexOf(": ");
    if (i > 0) result[line.slice(0, i)] = line.slice(i + 2);
  }
  return { result, raw };
}

export const sha256 = (path: string): string => createHash("sha256").update(readFileSync(path)).digest("hex");

const read = (p: string): string => {
  try {
    return readFileSync(p, "utf8");
  } catch (e) {
    return `unreadable: ${(e as Error).message}`;
  }
};

/**
 * Host state an escape would change: kernel settings a container must not reach, loaded
 * modules and the hostname. (The helper binary's hash is checked by the CVE-2019-5736 tests
 * only: other work on this checkout may rebuild it while the suite runs.) (Mounts left behind are checked by trackBundles; the
 * host's mount count is no measure on a machine where other work runs.)
 */
export function hostSnapshot(): Record<string, string> {
  return {
    core_pattern: read("/proc/sys/kernel/core_pattern"),
    ctrl_alt_del: read("/proc/sys/kernel/ctrl-alt-del"),
    modprobe: read("/proc/sys/kernel/modprobe"),
    modules: read("/proc/modules"),
    hostname: read("/proc/sys/kernel/hostname"),
  };
}
